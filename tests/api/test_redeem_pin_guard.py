"""A reused Idempotency-Key cannot be used to try PINs: the stored answer is given
before the PIN is looked at, so wrong PINs under it neither count toward the lock nor
reveal anything (design.md "Security model": every attempt counts; a replay is not an
attempt)."""

from lib import expect_eq, expect_error, expect_json
from test_redeem import (PIN, card, fx, funded, mk_clerk, new_key, redeem, redeemed)


def _failures(ctx, hid):
    return int(ctx.sql("SELECT pin_failures FROM households WHERE id = %d" % hid)[0][0])


def _next_auto_id(ctx):
    return int(ctx.sql("SELECT COALESCE(MAX(id), 0) FROM redemptions")[0][0])


def test_reused_key_with_wrong_pins_is_a_replay_and_counts_nothing(ctx):
    w = fx(ctx)
    clerk = mk_clerk(ctx, w.S1)
    h = funded(ctx, w.VA["id"], 100)
    key = new_key("guard")
    first = redeemed(ctx, clerk, card(h, points=5), key=key)
    for guess in ("1357", "2468", "9753", "8642", "1470", "2580"):
        r = redeem(ctx, clerk, card(h, pin=guess, points=5), key=key)
        d = expect_json(r, 201)
        expect_eq(d.get("replayed"), True, "a reused key with PIN %s" % guess)
        expect_eq(d.get("id"), first["id"], "the replayed redemption")
    expect_eq(_failures(ctx, h["id"]), 0, "PIN failures counted for replays")
    # the household is not locked: its own PIN still works under a new key
    redeemed(ctx, clerk, card(h, points=1))


def test_reused_key_for_another_request_never_evaluates_the_pin(ctx):
    w = fx(ctx)
    clerk = mk_clerk(ctx, w.S1)
    victim = funded(ctx, w.VA["id"], 100)
    other = funded(ctx, w.VA["id"], 100)
    key = new_key("guard")
    redeemed(ctx, clerk, card(other, points=5), key=key)
    before = _next_auto_id(ctx)
    answers = set()
    for guess in ("1357", "2468", PIN, "9753", "8642", "1470"):
        r = redeem(ctx, clerk, card(victim, pin=guess, points=1), key=key)
        expect_error(r, 409, "idempotency_conflict")
        answers.add(r.json["error"]["message"])
    expect_eq(len(answers), 1, "the same answer for the right and the wrong PINs")
    expect_eq(_failures(ctx, victim["id"]), 0, "PIN failures counted for a reused key")
    # nothing was even tried: no redemption id was drawn for the right PIN
    redeemed(ctx, clerk, card(victim, points=1))
    expect_eq(_next_auto_id(ctx), before + 1, "redemption ids drawn by refused attempts")
