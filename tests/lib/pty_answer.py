#!/usr/bin/env python3
"""Runs a command on a new pseudo-terminal (its controlling terminal, so
/dev/tty is that pty) and answers each prompt that contains PROMPT with
ANSWER, once the prompt is there (an answer typed earlier would be flushed
by the program's own tcsetattr(TCSAFLUSH)).

    pty_answer.py PROMPT ANSWER TIMEOUT_S CMD...

Writes all the terminal showed to stdout, the number of prompts answered
to stderr as "prompts: N", and exits with the command's status (124 if it
ran past TIMEOUT_S and was killed)."""
import os, pty, select, signal, sys, time

prompt, answer, limit = sys.argv[1].encode(), sys.argv[2].encode(), float(sys.argv[3])
cmd = sys.argv[4:]
pid, fd = pty.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
seen, answered, buf = b"", 0, b""
end = time.monotonic() + limit
status = None
while True:
    left = end - time.monotonic()
    if left <= 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        status = 124
        break
    r, _, _ = select.select([fd], [], [], min(left, 0.5))
    if r:
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            break
        seen += data
        buf += data
        while prompt in buf:
            buf = buf[buf.index(prompt) + len(prompt):]
            os.write(fd, answer + b"\n")
            answered += 1
        buf = buf[-len(prompt):]
if status is None:
    _, st = os.waitpid(pid, 0)
    status = os.waitstatus_to_exitcode(st)
    if status < 0:
        status = 128 - status
sys.stdout.buffer.write(seen)
sys.stderr.write("prompts: %d\n" % answered)
sys.exit(status)
