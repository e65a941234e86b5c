# Runs a command on a pseudo-terminal (for tests of what needs one: Enter-Container): waits for a prompt,
# types one line, waits for its answer, types "exit", and prints everything the terminal showed plus a last
# line "PTY-STAGE=<0 no prompt | 1 no answer | 2 answered> PTY-EXIT=<exit code>".
# usage: python3 pty-run.py <prompt regex> <line to type> <answer regex> <timeout seconds> <cwd> -- argv...
import os, pty, re, select, sys, time

prompt, line, want, timeout, cwd = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
argv = sys.argv[sys.argv.index('--') + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.chdir(cwd)
    os.execvp(argv[0], argv)
buf = b''
stage, mark = 0, 0
deadline = time.time() + timeout
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.2)
    if not ready:
        continue
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    buf += data
    if stage == 0 and re.search(prompt, buf.decode('utf-8', 'replace')):
        os.write(fd, (line + '\n').encode())
        stage, mark = 1, len(buf)
    elif stage == 1 and re.search(want, buf[mark:].decode('utf-8', 'replace')):
        os.write(fd, b'exit\n')
        stage = 2
if time.time() >= deadline:
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
sys.stdout.write(buf.decode('utf-8', 'replace'))
print('\nPTY-STAGE=%d PTY-EXIT=%d' % (stage, os.waitstatus_to_exitcode(status)))
