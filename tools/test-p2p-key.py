#!/usr/bin/env python3
"""p2p-key: creates a 0600 key, prints a stable swarm id and URI, refuses an
unsafe or malformed key file.  Usage: test-p2p-key.py PATH-TO-p2p-key"""
import os, re, stat, subprocess, sys, tempfile

tool = sys.argv[1]
# meson test --setup valgrind sets this: the tool itself runs under memcheck
wrapper = os.environ.get("P2P_TOOL_WRAPPER", "").split()
_run = subprocess.run
def run(args, **kw):
    return _run(wrapper + args if args and args[0] == tool else args, **kw)
subprocess.run = run
with tempfile.TemporaryDirectory() as d:
    key = os.path.join(d, "publisher.key")
    r = subprocess.run([tool, key], capture_output=True, text=True)
    assert r.returncode == 1 and "does not exist" in r.stderr, r
    r = subprocess.run([tool, "--create", "--host", "192.0.2.7", "--port", "9000", key],
                       capture_output=True, text=True)
    assert r.returncode == 0, r
    m = re.search(r"^swarm-id ([a-z2-7]{52})$", r.stdout, re.M)
    assert m, r.stdout
    assert f"uri p2p://192.0.2.7:9000/{m.group(1)}\n" in r.stdout, r.stdout
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    # private swarm links: given secret (escaped) and a made-up one
    r = subprocess.run([tool, "--host", "192.0.2.7", "--port", "9000", "--secret", "a b&c d e f g h i j k l m", key],
                       capture_output=True, text=True)
    assert r.returncode == 0, r
    assert f"private-uri p2p://192.0.2.7:9000/{m.group(1)}?secret=a%20b%26c%20d%20e%20f%20g%20h%20i%20j%20k%20l%20m\n" in r.stdout, r.stdout
    r = subprocess.run([tool, "--new-secret", key], capture_output=True, text=True)
    assert r.returncode == 0, r
    s1 = re.search(r"^secret ([0-9a-f]{32})$", r.stdout, re.M)
    assert s1 and f"?secret={s1.group(1)}\n" in r.stdout, r.stdout
    r2 = subprocess.run([tool, "--new-secret", key], capture_output=True, text=True)
    assert s1.group(1) not in r2.stdout, "secrets repeat"
    # external trackers: the URI p2psink posts for them
    r = subprocess.run([tool, "--tracker", "ws://192.0.2.8:8000/announce",
                        "--tracker", "wss://t.example.org/ws", "--secret", "3f9c1a7e5b2d8064c1e9a7f3b5d20846", key],
                       capture_output=True, text=True)
    assert r.returncode == 0, r
    assert (f"uri p2p://192.0.2.8:8000/{m.group(1)}?tracker=wss://t.example.org/ws\n"
            in r.stdout), r.stdout
    assert (f"private-uri p2p://192.0.2.8:8000/{m.group(1)}?tracker=wss://t.example.org/ws"
            "&secret=3f9c1a7e5b2d8064c1e9a7f3b5d20846\n" in r.stdout), r.stdout
    r = subprocess.run([tool, "--tracker", "http://192.0.2.8/", key],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "http://192.0.2.8/" in r.stderr, r
    r = subprocess.run([tool, "--secret", "", key], capture_output=True, text=True)
    assert r.returncode == 2, r
    # a guessable secret is refused, naming the minimum and the way out
    r = subprocess.run([tool, "--secret", "weak1", key], capture_output=True, text=True)
    assert r.returncode == 2 and "too weak" in r.stderr and "--new-secret" in r.stderr, r
    said = "".join(l for l in r.stderr.splitlines(True) if not l.startswith("=="))
    assert "private-uri" not in r.stdout and "weak1" not in said, r
    again = subprocess.run([tool, key], capture_output=True, text=True)
    assert again.returncode == 0 and m.group(1) in again.stdout, again
    os.chmod(key, 0o644)
    r = subprocess.run([tool, key], capture_output=True, text=True)
    assert r.returncode == 1 and "chmod 600" in r.stderr, r
    os.chmod(key, 0o600)
    with open(key, "w") as f:
        f.write("not a key\n")
    r = subprocess.run([tool, key], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.strip(), r
print("ok")
