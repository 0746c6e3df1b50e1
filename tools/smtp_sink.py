#!/usr/bin/env python3
"""A real SMTP server for the tests (aiosmtpd): accepts every message on 127.0.0.1:PORT and
appends it, decoded, as one JSON line to OUT. Usage: smtp_sink.py PORT OUT"""
import asyncio
import json
import sys
from email import policy
from email.parser import BytesParser

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out):
        self.out = out

    async def handle_DATA(self, server, session, envelope):
        msg = BytesParser(policy=policy.default).parsebytes(envelope.original_content or envelope.content)
        text = ""
        attachments = []
        for part in msg.walk():
            if part.is_multipart():
                continue
            if part.get_filename():
                attachments.append({
                    "filename": part.get_filename(),
                    "content_type": part.get_content_type(),
                    "content": part.get_content() if part.get_content_maintype() == "text" else "",
                    "size": len(part.get_payload(decode=True) or b""),
                    "head": (part.get_payload(decode=True) or b"")[:8].decode("latin-1"),
                })
            elif part.get_content_type() == "text/plain":
                text += part.get_content()
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": str(msg["subject"] or ""),
            "message_id": str(msg["message-id"] or ""),
            "text": text,
            "attachments": attachments,
        }
        with open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        return "250 Message accepted for delivery"


async def main():
    port, out = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Sink(out), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            await asyncio.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    asyncio.run(main())
