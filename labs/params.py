"""Drawn parameters: values picked per session (VLAN ids, subnets, names) so that neighbours
cannot copy each other, from a seed stored with the session so that a re-grade sees the same.

`Draw` is the `draw:` entry of scenario.yaml; `session_params` gives a session all its values;
`attribute` reads a subnet's parts (`{{ lan.1 }}`, `{{ lan.mask }}`) for the placeholders.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from labs.keys import new_password

if TYPE_CHECKING:
    from labs.scenario import Scenario

PARAMETER = r"^[a-z_][a-z0-9_]*$"
_Bound = Annotated[int, Field(ge=0, le=1 << 32)]  # VLAN ids, ports, AS numbers


class DrawError(ValueError):
    """No value is left to draw (the platform's lab pool took what the scenario's pool had)."""


class Draw(BaseModel):
    """One drawn parameter: an integer in `range`, a text of `choice`, or a `subnet` of size
    `prefix`; the parameters of one `distinct` group all differ (subnets: never overlap)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "oneOf": [
                {"required": ["range"]},
                {"required": ["choice"]},
                {"required": ["subnet", "prefix"]},
            ]
        },
    )

    range: tuple[_Bound, _Bound] | None = None
    choice: Annotated[list[str], Field(min_length=1)] | None = None
    subnet: IPv4Network | None = None
    prefix: Annotated[int, Field(ge=1, le=32)] | None = None
    distinct: Annotated[str, Field(pattern=PARAMETER)] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Draw:
        kinds = [k for k in ("range", "choice", "subnet") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("give exactly one of range: [lo, hi], choice: [...], subnet: CIDR")
        if self.range is not None and self.range[0] > self.range[1]:
            raise ValueError(f"range {list(self.range)}: the first bound is above the second")
        if (self.subnet is None) != (self.prefix is None):
            raise ValueError("a subnet needs its size: subnet: CIDR with prefix: N, together")
        if (
            self.subnet is not None
            and self.prefix is not None
            and self.prefix < self.subnet.prefixlen
        ):
            raise ValueError(f"prefix /{self.prefix} is larger than the subnet {self.subnet}")
        return self

    @property
    def kind(self) -> str:
        if self.range is not None:
            return "range"
        return "choice" if self.choice is not None else "subnet"

    def size(self) -> int:
        """How many different values this parameter can take."""
        if self.range is not None:
            return self.range[1] - self.range[0] + 1
        if self.choice is not None:
            return len(set(self.choice))
        assert self.subnet is not None and self.prefix is not None
        return 1 << (self.prefix - self.subnet.prefixlen)


def _blocked(draw: Draw, other: Draw) -> int:
    """At most how many of `draw`'s values a value of `other` (same group) can rule out."""
    if draw.subnet is None or other.subnet is None or other.prefix is None:
        return 1
    if not draw.subnet.overlaps(other.subnet):
        return 0
    assert draw.prefix is not None
    return 1 << max(0, draw.prefix - other.prefix)  # a larger subnet covers several blocks


def group_problems(draws: Mapping[str, Draw]) -> list[tuple[str, str]]:
    """(parameter, problem) for the `distinct` groups that could not always be drawn: one
    kind per group, and every member's pool larger than what the others can take from it."""
    groups: dict[str, list[str]] = {}
    for name, draw in draws.items():
        if draw.distinct is not None:
            groups.setdefault(draw.distinct, []).append(name)
    problems = []
    for group, names in groups.items():
        kinds = {draws[n].kind for n in names}
        if len(kinds) > 1:
            problems.append((names[0], f"group '{group}' mixes kinds ({', '.join(sorted(kinds))})"))
            continue
        for name in names:
            taken = sum(_blocked(draws[name], draws[o]) for o in names if o != name)
            if draws[name].size() <= taken:
                others = f"the {len(names) - 1} others of group '{group}' up to {taken} of them"
                message = f"{name} can take {draws[name].size()} values and {others}"
                problems.append((name, f"{message}: widen its pool"))
                break  # one problem per group: members often share their pool
    return problems


def _free(pool: IPv4Network, taken: Iterable[IPv4Network]) -> list[IPv4Network]:
    """`pool` without the networks in `taken`, as aligned networks."""
    free = [pool]
    for net in taken:
        rest: list[IPv4Network] = []
        for part in free:
            if not part.overlaps(net):
                rest.append(part)
            elif net.subnet_of(part) and net != part:
                rest.extend(part.address_exclude(net))
        free = rest
    return free


def draw_subnet(
    rng: random.Random, pool: IPv4Network, prefix: int, taken: Iterable[IPv4Network]
) -> IPv4Network:
    """A /`prefix` of `pool`, uniformly among those that overlap nothing in `taken`.
    Raises DrawError when none is left."""
    free = [net for net in _free(pool, taken) if net.prefixlen <= prefix]
    counts = [1 << (prefix - net.prefixlen) for net in free]
    if not counts:
        raise DrawError(f"no /{prefix} of {pool} is left")
    index = rng.randrange(sum(counts))
    for net, count in zip(free, counts, strict=True):
        if index < count:
            first = int(net.network_address) + index * (1 << (32 - prefix))
            return IPv4Network((first, prefix))
        index -= count
    raise AssertionError("index within the counted blocks")


def draw_values(
    draws: Mapping[str, Draw], seed: str, avoid: Sequence[IPv4Network] = ()
) -> dict[str, str]:
    """Every drawn parameter's value, the same for the same seed. Subnets never overlap `avoid`.
    Raises DrawError when a pool is used up (by `avoid`: `group_problems` rules out the rest)."""
    rng = random.Random(seed)
    used: dict[str, set[str]] = {}
    nets: dict[str, list[IPv4Network]] = {}
    values: dict[str, str] = {}
    for name, draw in draws.items():
        group = draw.distinct or f"\0{name}"  # a parameter without a group is its own group
        taken = used.setdefault(group, set())
        if draw.subnet is not None and draw.prefix is not None:
            try:
                net = draw_subnet(rng, draw.subnet, draw.prefix, [*avoid, *nets.get(group, [])])
            except DrawError as exc:  # the group alone cannot use the pool up: `avoid` did
                shown = ", ".join(map(str, avoid))
                raise DrawError(
                    f"draw {name}: {exc} beside the platform's own networks ({shown}): "
                    "draw it from another pool"
                ) from exc
            nets.setdefault(group, []).append(net)
            value = str(net)
        elif draw.range is not None:
            value = _pick(rng, range(draw.range[0], draw.range[1] + 1), taken)
        else:
            value = _pick(rng, list(dict.fromkeys(draw.choice or [])), taken)
        taken.add(value)
        values[name] = value
    return values


def _pick(rng: random.Random, pool: Sequence[int] | Sequence[str], taken: set[str]) -> str:
    """A value of `pool` (a range is not listed) not in `taken`, uniformly."""
    if len(pool) <= 4 * len(taken) + 64:  # small pool: list what is left
        left = [str(v) for v in pool if str(v) not in taken]
        if not left:
            raise DrawError("no value left")
        return rng.choice(left)
    while True:  # a large pool with few taken: a retry or two
        value = str(pool[rng.randrange(len(pool))])
        if value not in taken:
            return value


def session_params(
    scenario: Scenario, seed: str, avoid: Sequence[IPv4Network] = ()
) -> dict[str, str]:
    """All of a session's parameters: the scenario's fixed ones, fresh random secrets, and the
    values drawn from `seed` (the session's id). Raises DrawError (see `draw_values`)."""
    return {
        **scenario.parameters,
        **{name: new_password() for name in scenario.secrets},
        **draw_values(scenario.draw, seed, avoid),
    }


def subnet_of(value: str) -> IPv4Network | None:
    """The network a parameter's value names (`172.16.4.0/24`), None for any other value."""
    if "/" not in value:
        return None
    try:
        return IPv4Network(value)
    except ValueError:
        return None


def attribute(value: str, name: str) -> str:
    """A part of a subnet value: `net`, `prefix`, `mask`, or a host number (`1` = the first
    address after the network's). Raises ValueError saying why the part does not exist."""
    net = subnet_of(value)
    if net is None:
        raise ValueError(f"{value!r} is not a subnet, it has no .{name}")
    if name == "net":
        return str(net.network_address)
    if name == "prefix":
        return str(net.prefixlen)
    if name == "mask":
        return str(net.netmask)
    if not name.isdigit():
        raise ValueError(f"unknown part .{name} (write .net, .prefix, .mask or a host number)")
    hosts = net.num_addresses - 2
    if not 1 <= int(name) <= hosts:
        span = f"hosts .1 to .{hosts}" if hosts > 0 else "it has no host numbers"
        raise ValueError(f"host .{name} is outside a /{net.prefixlen} ({span})")
    return str(IPv4Address(int(net.network_address) + int(name)))
