#!/bin/sh
set -eu
echo "$ANSWER" > /root/answer.txt
