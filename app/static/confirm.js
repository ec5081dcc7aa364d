// A form's submit button with `data-confirm` (cancel a sitting, end every session) asks first.
document.addEventListener("submit", (event) => {
  const question = event.submitter && event.submitter.dataset.confirm;
  if (question && !confirm(question)) event.preventDefault();
});
