# Record what the real server sends on a WebSocket session, for the fuzz
# corpora (make_server_corpus.sh runs it):
#   ws_capture.py CA PORT LOGIN FRAMES_DIR UPGRADE_FILE
# logs in as LOGIN (demo password), asks whoami and the patient list,
# pings, then sends a text frame (which the server refuses with a close).
# UPGRADE_FILE gets the 101 answer with the frames after it, as received;
# FRAMES_DIR gets the frames alone (session-stream.bin) and one by one.
import os, socket, ssl, struct, sys

def varint(n):
    out = b''
    while True:
        b = n & 0x7f; n >>= 7
        if n: out += bytes([b | 0x80])
        else: return out + bytes([b])

def field(num, wt, payload):
    tag = varint(num << 3 | wt)
    if wt == 2: return tag + varint(len(payload)) + payload
    return tag + varint(payload)

def env(rid, body_field, body):
    return field(1, 0, rid) + field(body_field, 2, body)

def frame(op, payload, fin=True):
    mask = os.urandom(4)
    h = bytes([(0x80 if fin else 0) | op])
    n = len(payload)
    if n < 126: h += bytes([0x80 | n])
    elif n < 65536: h += bytes([0x80 | 126]) + struct.pack('>H', n)
    else: h += bytes([0x80 | 127]) + struct.pack('>Q', n)
    return h + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))

ctx = ssl.create_default_context(cafile=sys.argv[1])
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', int(sys.argv[2]))), server_hostname='localhost')
s.sendall(b'GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
          b'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n'
          b'Sec-WebSocket-Protocol: renkei.v1\r\n\r\n')
login = field(1, 2, sys.argv[3].encode()) + field(2, 2, b'renkei-demo-1') + field(3, 2, b'fuzz-corpus')
msgs = [env(1, 10, login), env(2, 15, b''), env(3, 20, b'')]
data = b''
s.settimeout(2)
def readall(t):
    global data
    s.settimeout(t)
    try:
        while True:
            d = s.recv(65536)
            if not d: break
            data += d
    except socket.timeout:
        pass
readall(1)
for m in msgs:
    s.sendall(frame(2, m)); readall(0.5)
s.sendall(frame(9, b'ping-from-client')); readall(0.3)
s.sendall(frame(1, b'a text frame'))  # the server closes: binary only
readall(1)
open(sys.argv[5], 'wb').write(data)
rest = data[data.index(b'\r\n\r\n') + 4:]
out = sys.argv[4]
open(os.path.join(out, 'session-stream.bin'), 'wb').write(rest)
names = ['login-response', 'whoami-response', 'patients-response', 'pong', 'close-1003']
off = 0
for name in names:
    if off >= len(rest):
        break
    n = rest[off + 1] & 0x7f
    h = 2
    if n == 126:
        n, h = int.from_bytes(rest[off + 2:off + 4], 'big'), 4
    elif n == 127:
        n, h = int.from_bytes(rest[off + 2:off + 10], 'big'), 10
    open(os.path.join(out, name + '.bin'), 'wb').write(rest[off:off + h + n])
    off += h + n
