#!/usr/bin/env python3
"""A till's side of Guild, in one file: Python 3 standard library only.

Copy this file into a till, or call it from one. It talks to the shop's
own Guild node over HTTP with an API token of scope `sale`
(`guild node token create --data DIR --name till-1`); the node computes
the points from the shop's published rules and signs. The till writes no
cryptography. See docs/till.md for the whole story.

    export GUILD_NODE=http://127.0.0.1:8700
    export GUILD_TOKEN_FILE=till-token.txt        # or GUILD_TOKEN=gld_…
    python3 till.py preview --customer guild1… --amount 6.50
    python3 till.py sale    --customer guild1… --amount 6.50 --receipt R-1001
    python3 till.py refund  --receipt R-1001 --amount 3.25
    python3 till.py refund  --receipt R-1001            # all that is left

Each command prints what to tell the clerk, and with --json the node's
answer. Exit codes: 0 done; 1 refused (the message says why: show it to
the clerk); 2 not final yet (recorded and waiting for the network: keep the
receipt id, try again later with the same id); 3 the node cannot be reached
or is busy (nothing is lost: retry with the same receipt id).

The one rule that makes a till safe: **a sale is identified by its receipt
id**. Sending the same sale again with the same id never issues points
twice (the node answers `duplicate_receipt`), so after a network error the
till simply sends it again.
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

# Network errors are retried this many times, waiting a little longer each
# time, always with the same receipt id.
RETRIES = 4
FIRST_WAIT_S = 0.5
# How long the node may take to make a sale final (it answers 202 after).
WAIT_MS = 15_000


class TillError(Exception):
    """The node refused the request: `status` and `code` are stable
    (docs/api.md, "Errors"); `message` is for the clerk."""

    def __init__(self, status, code, message, retry_after=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


class Unreachable(Exception):
    """The node could not be reached (after the retries)."""


def money(text):
    """'6.50' -> 650 (minor units). A dot is the decimal separator; no
    thousands separators."""
    text = text.strip()
    whole, _, part = text.partition(".")
    if not whole.isdigit() or (part and (not part.isdigit() or len(part) > 2)):
        raise ValueError(f"{text!r} is not an amount: write it like 12.50")
    return int(whole) * 100 + int((part + "00")[:2])


def pounds(minor):
    return f"{minor // 100}.{minor % 100:02d}"


class Till:
    """One till's connection to its shop's node."""

    def __init__(self, node, token, timeout_s=30):
        self.node = node.rstrip("/")
        self.token = token.strip()
        self.timeout_s = timeout_s

    def _post(self, path, body):
        """POST `body` as JSON; retries network errors and `503 busy`
        (with the same body, so the same receipt id). Returns (status,
        answer)."""
        data = json.dumps(body).encode()
        wait = FIRST_WAIT_S
        for attempt in range(RETRIES + 1):
            request = urllib.request.Request(
                self.node + path,
                data=data,
                method="POST",
                headers={
                    "Authorization": "Bearer " + self.token,
                    "Content-Type": "application/json",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    return response.status, json.load(response)
            except urllib.error.HTTPError as error:
                answer = _error_body(error)
                retry_after = _retry_after(error)
                if error.code == 503 and answer["code"] == "busy" and attempt < RETRIES:
                    time.sleep(retry_after or wait)
                    wait *= 2
                    continue
                raise TillError(error.code, answer["code"], answer["message"], retry_after)
            except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
                if attempt == RETRIES:
                    raise Unreachable(
                        f"the shop's node at {self.node} cannot be reached ({_reason(error)})"
                    )
                time.sleep(wait)
                wait *= 2
        raise Unreachable(f"the shop's node at {self.node} cannot be reached")

    def preview(self, customer, amount, items=()):
        """What a sale would earn now (nothing is issued)."""
        _, answer = self._post(
            "/v1/sale/preview",
            {"customer": customer, "amount": amount, "items": list(items)},
        )
        return answer

    def sale(self, customer, amount, receipt, items=()):
        """Records a sale. Returns the node's answer: `status` is `final`
        (points issued: `total`) or `pending` (recorded, waiting for the
        network). A sale already recorded under this receipt (a retry
        after a lost answer) comes back as {"status": "already_recorded"}."""
        body = {
            "customer": customer,
            "amount": amount,
            "items": list(items),
            "receipt": receipt,
            "wait": True,
            "timeout_ms": WAIT_MS,
        }
        try:
            _, answer = self._post("/v1/sale", body)
            return answer
        except TillError as error:
            if error.code == "duplicate_receipt":
                return {"status": "already_recorded", "receipt": receipt}
            raise

    def refund(self, receipt, amount=None):
        """Refunds a sale in full (amount None) or in part. The answer says
        what this refund took back (`points.taken`), what it could not
        (`points.shortfall`: already spent) and `message` for the clerk."""
        body = {"receipt": receipt, "wait": True, "timeout_ms": WAIT_MS}
        if amount is not None:
            body["amount"] = amount
        _, answer = self._post("/v1/refund", body)
        return answer


def _error_body(error):
    try:
        body = json.load(error)
        return {"code": body["error"]["code"], "message": body["error"]["message"]}
    except Exception:  # not a Guild answer (a proxy's error page, …)
        return {"code": "http_" + str(error.code), "message": f"HTTP {error.code} {error.reason}"}


def _retry_after(error):
    value = error.headers.get("Retry-After") if error.headers else None
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _reason(error):
    return str(getattr(error, "reason", error))


# What the clerk sees for each refusal a till must expect (docs/till.md).
CLERK = {
    "unauthorized": "This till is not connected to the shop's loyalty node: ask the owner for a new till token.",
    "forbidden": "This till's token may not do this: ask the owner for a token with the sale scope.",
    "too_many_failures": "Too many wrong till tokens from this till: wait, then check the token.",
    "bad_address": "That is not a loyalty card address: scan the customer's card again.",
    "invalid_basket": "The basket does not add up: check the amounts.",
    "no_earn_rule": "The shop has no points rule yet: the owner publishes one with `guild shop rules set`.",
    "daily_cap_exceeded": "The shop has issued all the points it may today: no points for this sale.",
    "unknown_receipt": "No sale with this receipt earned points here: check the receipt number.",
    "already_reversed": "This receipt was already refunded in full.",
    "refund_too_large": "That is more than is left to refund on this receipt.",
    "partial_not_a_sale": "Only a sale can be refunded in part: refund it in full.",
    "no_shop_key": "The shop's node runs without the shop's key and cannot record sales.",
    "stopped": "The shop's node is restarting: try again in a moment.",
}


def explain(error):
    """The line for the clerk, then the node's own words."""
    lead = CLERK.get(error.code, "Refused")
    return f"{lead} ({error.code}: {error.message})"


def main(argv=None):
    parser = argparse.ArgumentParser(description="A Guild till, from the command line.")
    parser.add_argument("--node", default=os.environ.get("GUILD_NODE", "http://127.0.0.1:8700"))
    parser.add_argument("--token-file", default=os.environ.get("GUILD_TOKEN_FILE"))
    parser.add_argument("--json", action="store_true", help="print the node's answer as JSON")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("preview", "sale"):
        command = commands.add_parser(name)
        command.add_argument("--customer", required=True)
        command.add_argument("--amount", required=True, help="e.g. 6.50")
        command.add_argument("--item", action="append", default=[], help="category:amount, e.g. coffee:3.20")
        if name == "sale":
            command.add_argument("--receipt", required=True)
    refund = commands.add_parser("refund")
    refund.add_argument("--receipt", required=True)
    refund.add_argument("--amount", help="the part refunded, e.g. 3.25 (default: all that is left)")
    args = parser.parse_args(argv)

    token = os.environ.get("GUILD_TOKEN")
    if args.token_file:
        with open(args.token_file, encoding="utf-8") as file:
            token = file.read()
    if not token:
        print("error: give the till's token with --token-file FILE or GUILD_TOKEN", file=sys.stderr)
        return 1
    till = Till(args.node, token)
    try:
        if args.command in ("preview", "sale"):
            amount = money(args.amount)
            items = []
            for item in args.item:
                category, _, value = item.partition(":")
                items.append({"category": category, "amount": money(value)})
        if args.command == "preview":
            answer = till.preview(args.customer, amount, items)
            line = f"This sale would earn {answer['total']} points."
            code = 0
        elif args.command == "sale":
            answer = till.sale(args.customer, amount, args.receipt, items)
            if answer["status"] == "final":
                line = f"Receipt {args.receipt}: {answer['total']} points issued."
                code = 0
            elif answer["status"] == "already_recorded":
                line = f"Receipt {args.receipt} was already recorded; nothing was issued twice."
                code = 0
            else:
                line = (
                    f"Receipt {args.receipt} is recorded and waiting for the network to confirm it; "
                    "the points will follow. Send it again later with the same receipt id."
                )
                code = 2
        else:
            amount = money(args.amount) if args.amount else None
            answer = till.refund(args.receipt, amount)
            line = answer["message"]
            code = 0 if answer["status"] == "final" else 2
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except TillError as error:
        if args.json:
            print(json.dumps({"error": {"status": error.status, "code": error.code, "message": error.message}}))
        print(explain(error), file=sys.stderr)
        return 3 if error.status == 503 else 1
    except Unreachable as error:
        print(f"error: {error}; nothing is lost: try again with the same receipt id", file=sys.stderr)
        return 3
    if args.json:
        print(json.dumps(answer))
    print(line, file=sys.stderr if args.json else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main())
