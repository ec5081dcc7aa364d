#!/bin/bash
echo "$ANSWER" > /root/answer.txt
