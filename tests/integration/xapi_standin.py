"""A stand-in for xapi on another host, for the pool-transfer tests.

What real xapi does with an rrdd transfer (xen-api: ocaml/xapi/rrdd_proxy.ml,
xapi_services.ml, http-lib): stunnel terminates TLS on port 443 (a pool
certificate chosen by SNI "pool"), xapi reads the request, authenticates it
(the pool_secret cookie, or a session_id) and answers 401 otherwise, checks
the request (PUT /rrd: uuid required, 400; unknown uuid, 404; archive on a
host that is not the master, 302 to the master), adds is_host and domid to
a PUT's query, turns GET /host_rrd?dbsync into /rrd_unarchive, and hands
the connection to its rrdd's forwarded socket: one message, the request as
JSON, the socket attached with SCM_RIGHTS.  Here the connection handed over
is one end of a socketpair whose other end is pumped to and from the TLS
connection, as stunnel does.

Not a test (tests/integration/test_pool_transfer.py uses it).  Modes, set
on the instance: "xapi" (the above), "hang" (accept, never answer),
"garbage" (answer something that is not HTTP).
"""
import json
import select
import socket
import ssl
import threading
import urllib.parse

GOOD_SESSION = "OpaqueRef:4b6a2e2c-good-session"


class XapiStandin:
    def __init__(self, forwarded, secret, cert, key, host_uuid, domids, master=True):
        self.forwarded = forwarded
        self.secret = secret
        self.host_uuid = host_uuid
        self.domids = domids  # vm uuid -> domid
        self.master = master
        self.mode = "xapi"
        self.sni = []         # server names clients sent
        self.requests = []    # (method, path, query pairs, cookie dict, status)
        self.bodies = []      # PUT bodies as proxied
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.ctx.sni_callback = self._sni
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.held = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _sni(self, sslobj, name, ctx):
        self.sni.append(name)

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def close(self):
        self.lsock.close()
        for c in self.held:
            c.close()

    # ---- one connection ----
    def _serve(self, raw):
        if self.mode == "hang":
            self.held.append(raw)  # TCP accepted, TLS never answered
            return
        raw.settimeout(30)
        try:
            tls = self.ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        try:
            self._request(tls)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def _request(self, tls):
        data = b""
        while b"\r\n\r\n" not in data:
            x = tls.recv(4096)
            if not x:
                return
            data += x
            if len(data) > 65536:
                return
        head, rest = data.split(b"\r\n\r\n", 1)
        if self.mode == "garbage":
            tls.sendall(b"this is not HTTP at all\r\n\r\n")
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            headers[k.strip().lower()] = v.strip()
        cookie = {}
        for part in headers.get("cookie", "").split(";"):
            k, _, v = part.strip().partition("=")
            if k:
                cookie[k] = v
        url = urllib.parse.urlsplit(target)
        query = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
        q = dict(query)
        path = url.path

        def answer(status, reason, extra=""):
            self.requests.append((method, path, query, cookie, status))
            tls.sendall(("HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Length: %d\r\n%s\r\n%s"
                         % (status, reason, len(reason), extra, reason)).encode())

        if "session_id" in q:
            if q["session_id"] != GOOD_SESSION:
                return answer(401, "Unauthorized")
        elif cookie.get("pool_secret") != self.secret:
            return answer(401, "Unauthorized")
        if method == "PUT" and path == "/rrd":
            if "uuid" not in q:
                return answer(400, "put_rrd: missing the 'uuid' parameter")
            if "archive" in q and not self.master:
                return answer(302, "Found", "Location: https://master.invalid%s\r\n" % target)
            uuid = q["uuid"]
            if uuid == self.host_uuid:
                if "archive" not in q:
                    return answer(400, "put_rrd: cannot archive host RRD")
                is_host, domid = True, 0
            elif uuid in self.domids:
                is_host, domid = False, self.domids[uuid]
            else:
                return answer(404, "put_rrd: invalid 'uuid' parameter")
            query = [("is_host", "true" if is_host else "false"), ("domid", str(domid))] + query
            m = "Put"
        elif method == "GET" and path == "/host_rrd" and "dbsync" in q:
            if "uuid" not in q:
                return answer(400, "get_host_rrd: missing the 'uuid' parameter")
            path, m = "/rrd_unarchive", "Get"
        else:
            return answer(404, "not forwarded by this stand-in")
        self.requests.append((method, path, query, cookie, "handed over"))
        qjson = "{" + ",".join("%s:%s" % (json.dumps(k), json.dumps(v)) for k, v in query) + "}"
        msg = ('{"m":%s,"path":%s,"query":%s,"version":"1.1","frame":false,"cookie":%s,'
               '"close":true,"additional_headers":{},"user_agent":%s}'
               % (json.dumps(m), json.dumps(path), qjson, json.dumps(cookie),
                  json.dumps(headers.get("user-agent", ""))))
        a, b = socket.socketpair()
        ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ctl.connect(self.forwarded)
        ctl.sendmsg([msg.encode()], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                      b.fileno().to_bytes(4, "little"))])
        b.close()
        ctl.close()
        body = bytearray(rest)
        if rest:
            a.sendall(rest)
        self._pump(tls, a, body)
        if m == "Put":
            self.bodies.append(bytes(body))

    @staticmethod
    def _pump(tls, a, body):
        """Bytes both ways until rrdd closes; the client's end of stream is
        passed on as a half-close."""
        tls_open = True
        while True:
            r = [a] + ([tls] if tls_open else [])
            if tls_open and tls.pending():
                ready = [tls]
            else:
                ready, _, _ = select.select(r, [], [], 30)
                if not ready:
                    return
            if tls in ready:
                x = tls.recv(65536)
                if x:
                    body += x
                    a.sendall(x)
                else:
                    tls_open = False
                    a.shutdown(socket.SHUT_WR)
            if a in ready:
                x = a.recv(65536)
                if not x:
                    a.close()
                    return
                tls.sendall(x)
