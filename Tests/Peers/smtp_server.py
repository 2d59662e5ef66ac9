"""A real SMTP server for the tests (aiosmtpd): appends every accepted message to a JSON-lines file.

    python3 smtp_server.py PORT OUTPUT [--tls CERT KEY] [--auth USER:PASSWORD]

With --tls the server offers STARTTLS and requires it; with --auth it requires AUTH (over TLS).
Recipients starting with "busy" get 451 (temporary), "reject" get 550 (permanent).
"""
import json
import signal
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Recorder:
    def __init__(self, output):
        self.output = output

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("busy"):
            return "451 4.3.0 try again later"
        if address.startswith("reject"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
            "tls": session.ssl is not None,
            "user": session.auth_data if session.authenticated else None,
        }
        with open(self.output, "a") as f:
            f.write(json.dumps(record) + "\n")
        return "250 2.0.0 accepted"


def main():
    port, output = int(sys.argv[1]), sys.argv[2]
    args = sys.argv[3:]
    kwargs = {}
    if "--tls" in args:
        import ssl

        i = args.index("--tls")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args[i + 1], args[i + 2])
        kwargs.update(tls_context=context, require_starttls=True)
    if "--auth" in args:
        user, password = args[args.index("--auth") + 1].split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user \
                and auth_data.password.decode() == password
            return AuthResult(success=ok, handled=False, auth_data=auth_data.login.decode() if ok else None)

        kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls="--tls" in args)
    controller = Controller(Recorder(output), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    signal.signal(signal.SIGTERM, lambda *_: (controller.stop(), sys.exit(0)))
    signal.pause()


if __name__ == "__main__":
    main()
