"""Generated gold sets with a known truth, for trying the validate → approve → grade loop and for
measuring probes.

Two generators, both pure and deterministic (the same arguments give the same bytes):

- :func:`binary_items` — answers of Ledgerly's billing assistant for the ``support-billing`` rubric.
  Sixteen scenarios over ten topics (the ``slice``); each has several user messages, several
  passing answers and several failing answers, every failing answer showing one of the rubric's
  failure modes (a promised refund, pretended account access, asking for or repeating card data,
  wrong Ledgerly facts, a vague answer, a missing escalation, a rude answer). Answers vary in
  length (optional correct extra sentences, empathy openers) and some end with a polite closing
  sentence ("Hope this helps!") that adds nothing.
- :func:`pairwise_items` — instruction / two responses for the ``pairwise-preference`` rubric:
  seven checkable task types (arithmetic, unit conversion, exact-count lists, sorting, primality,
  one-sentence summaries, reversing a list of words); one response is correct and the other is
  not, on a random side; the better response is the longer one in about half of the pairs;
  optional ties (two correct responses of different length).

The truth of every item is known (``metadata.truth``). Three simulated annotators
(:data:`ANNOTATORS`) each report the truth and, independently with probability ``noise``, the
wrong label instead. ``metadata.generator_family`` (``_a``/``_b``) is a label the generator
assigns, balanced across classes; no model wrote these texts.

The shipped files ``gold/support-synthetic.jsonl`` and ``gold/pairwise-synthetic.jsonl`` are
:data:`SHIPPED`; regenerate them with ``python -m judgecal.synthetic --out gold``.

>>> items = binary_items(8, seed=1)
>>> [it["metadata"]["slice"] for it in items][:4], [it["metadata"]["truth"] for it in items][:4]
(['refund', 'refund', 'duplicate_charge', 'duplicate_charge'], ['pass', 'fail', 'pass', 'fail'])
>>> sorted(items[0]["labels"])
['sim-annotator-1', 'sim-annotator-2', 'sim-annotator-3']
>>> binary_items(8, seed=1) == items
True
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

__all__ = [
    "ANNOTATORS",
    "FAMILIES",
    "PAIRWISE_SLICES",
    "SCENARIOS",
    "SHIPPED",
    "TOPICS",
    "Scenario",
    "binary_items",
    "main",
    "pairwise_items",
    "to_jsonl",
    "write_gold",
    "write_shipped",
]

ANNOTATORS = ("sim-annotator-1", "sim-annotator-2", "sim-annotator-3")
"""The simulated annotators' names."""

TOPICS = [
    "refund",
    "duplicate_charge",
    "invoice",
    "card_change",
    "card_data",
    "plan",
    "cancel",
    "trial",
    "vat",
    "seat",
]
"""The binary set's slices: items ``2k`` (truly passing) and ``2k + 1`` (truly failing) are about
``TOPICS[k % 10]``, so every slice holds both classes equally."""

FAMILIES = ["openai", "anthropic", "meta", "google"]
"""Generator families assigned to the outputs (balanced across classes)."""

SHIPPED: dict[str, dict[str, Any]] = {
    "support-synthetic": {"kind": "binary", "n": 400, "seed": 20261212, "noise": 0.03},
    "pairwise-synthetic": {"kind": "pairwise", "n": 300, "seed": 20261212, "noise": 0.03, "ties": 0.05},
}
"""The bundled generated gold sets: file stem -> arguments of :func:`write_gold`."""

_MAX_ATTEMPTS = 200
_STRICT_ATTEMPTS = 20
_STRICT_UP_TO = 1000
_T = TypeVar("_T")


# --------------------------------------------------------------------------------------------
# support-billing scenarios


@dataclass(frozen=True)
class Scenario:
    """One kind of support conversation: user messages and answers that pass or fail on it.

    Answers use only the ``{slots}`` every message of the scenario mentions, so an answer never
    knows more about the account than the user said."""

    topic: str
    """The slice (one of :data:`TOPICS`)."""
    questions: tuple[str, ...]
    """User messages (``str.format`` templates over the slots)."""
    good: tuple[str, ...]
    """Answers that meet every criterion of the rubric."""
    bad: tuple[tuple[str, str], ...]
    """(failure mode id, answer) pairs: each answer fails the rubric for that reason."""
    extras: tuple[str, ...] = ()
    """Correct, relevant sentences a passing answer may add (length without a change of label)."""


_CONTACT = "Help → Contact billing in the app or billing@ledgerly.example"

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        topic="refund",
        questions=(
            "I meant to cancel my {plan} plan before it renewed in {month}, but I forgot and was "
            "charged {amount}. Can I get that money back? I haven't used anything since.",
            "You billed me {amount} for {plan} in {month} and I haven't logged in for weeks. I "
            "want a refund.",
            "This is ridiculous. {amount} taken in {month} for a {plan} plan I never wanted to "
            "renew. Refund it right now.",
        ),
        good=(
            "I'm sorry about the {amount} charge in {month}. I can't issue refunds myself: refund "
            "requests are reviewed by the billing team, who decide case by case. You can reach them "
            f"through {_CONTACT}, and they reply within one business day.",
            "I understand why a {amount} renewal you didn't expect is frustrating. I can't see your "
            "account or grant refunds, but the billing team can review it: email "
            "billing@ledgerly.example (or use Help → Contact billing) with the {month} invoice, which "
            "you can download from Settings → Billing → Invoices. They reply within one business day.",
            "Refunds for the {plan} plan aren't something I can approve; only the billing team "
            "decides on those. Please contact them via Help → Contact billing or "
            "billing@ledgerly.example and mention the {amount} charge from {month}. They reply within "
            "one business day.",
        ),
        bad=(
            (
                "promised_refund",
                "No problem! I've gone ahead and refunded the {amount} from {month}; it should be "
                "back on your card within 3–5 business days.",
            ),
            (
                "promised_refund",
                "Since you haven't used the {plan} plan since {month}, you're very likely eligible "
                "for a full refund of {amount}. Just email billing@ledgerly.example and they'll send "
                "it back.",
            ),
            (
                "wrong_information",
                "Unused time on {plan} is refunded automatically within 30 days, so the {amount} "
                "from {month} will come back to you without you doing anything.",
            ),
            (
                "no_next_step",
                "Sorry about the {amount} charge in {month}. Refunds can be tricky, so it's best to "
                "reach out to us about it.",
            ),
            (
                "rude_or_dismissive",
                "You agreed to automatic renewal when you signed up for {plan}. The {amount} in "
                "{month} is correct, and cancelling on time is your responsibility.",
            ),
        ),
        extras=(
            "If you don't want another renewal, the account Owner can cancel in Settings → Billing → "
            "Cancel subscription; access continues until the end of the paid period.",
            "Unused time isn't refunded automatically, so the team looks at each case individually.",
            "Having the invoice PDF from Settings → Billing → Invoices to hand will speed things up.",
        ),
    ),
    Scenario(
        topic="duplicate_charge",
        questions=(
            "I think I was charged twice for {month}: two charges of {amount} on the same day.",
            "My bank shows {amount} twice from Ledgerly in {month}. Why did you take it twice?",
        ),
        good=(
            "Sorry for the worry. I can't see your payments, so I can't confirm what happened, but "
            "the billing team investigates duplicate charges like the two {amount} payments in "
            f"{{month}}. Please contact them via {_CONTACT}, with the dates and amounts from your "
            "bank statement (no card numbers). They reply within one business day and decide on any "
            "correction.",
            "Two charges of {amount} in {month} should be checked by the billing team, who handle "
            "duplicate charges; I can't look into payments myself. Write to billing@ledgerly.example "
            "or use Help → Contact billing and include the two statement lines. Expect a reply within "
            "one business day.",
        ),
        bad=(
            (
                "pretended_account_access",
                "I can see the two {amount} charges from {month}; the second one has already been "
                "reversed, so there's nothing more to do.",
            ),
            (
                "promised_refund",
                "Duplicate charges are always refunded within a week, so you'll get the extra "
                "{amount} from {month} back automatically.",
            ),
            (
                "missing_escalation",
                "That sounds odd. Maybe check with your bank about the second {amount} payment in {month}?",
            ),
        ),
        extras=(
            "Invoices in Settings → Billing → Invoices show whether each payment is Paid, Failed "
            "or Refunded.",
        ),
    ),
    Scenario(
        topic="invoice",
        questions=(
            "Where do I find the invoice for {month}? I need the PDF for the {amount} payment.",
            "Our accountant needs the {month} invoice ({amount}) as a PDF. How do I get it?",
        ),
        good=(
            "You can download it yourself: go to Settings → Billing → Invoices, find the {month} "
            "invoice for {amount} and open the PDF. That page is visible to the account Owner and to "
            "Billing admins.",
            "The {month} invoice for {amount} is in Settings → Billing → Invoices, where each invoice "
            "can be downloaded as a PDF.",
        ),
        bad=(
            (
                "pretended_account_access",
                "I've just emailed the {month} invoice for {amount} to the billing address on your account.",
            ),
            (
                "wrong_information",
                "Invoices older than 90 days are deleted, so the {month} one for {amount} may be gone; "
                "ask your bank for a statement instead.",
            ),
            (
                "no_next_step",
                "Invoices are somewhere in your account settings; have a look around for the {month} "
                "one for {amount}.",
            ),
            (
                "rude_or_dismissive",
                "The {month} invoice for {amount} is exactly where every invoice is. Please look "
                "before asking.",
            ),
        ),
        extras=(
            "Each invoice there shows whether it is Paid, Failed or Refunded.",
            "If you can't see Settings → Billing, ask the account Owner to give you the Billing admin "
            "role in Settings → Team.",
        ),
    ),
    Scenario(
        topic="invoice",
        questions=(
            "Our {month} invoice for {amount} still has our old company address. Can you fix it?",
            "The company name on the {month} invoice ({amount}) is wrong. We need a corrected one.",
        ),
        good=(
            "You can update the company details in Settings → Billing → Billing details; the change "
            "applies to future invoices. To have the {month} invoice for {amount} re-issued, contact "
            f"the billing team via {_CONTACT}; they reply within one business day.",
            "Past invoices like the {month} one for {amount} are re-issued by the billing team, so "
            "please write to billing@ledgerly.example or use Help → Contact billing. So that the next "
            "invoices are right, also correct the details in Settings → Billing → Billing details.",
        ),
        bad=(
            (
                "pretended_account_access",
                "Done: I've updated your details and re-issued the {month} invoice for {amount}. The "
                "new PDF is in Settings → Billing → Invoices.",
            ),
            (
                "wrong_information",
                "Just edit the details in Settings → Billing → Billing details and the {month} invoice "
                "for {amount} will update automatically.",
            ),
            (
                "missing_escalation",
                "Past invoices such as the {month} one for {amount} can't be changed from the chat, "
                "sorry. Future invoices will use whatever is in Billing details.",
            ),
        ),
        extras=("Invoices already issued keep the details they were issued with until they are re-issued.",),
    ),
    Scenario(
        topic="card_change",
        questions=(
            "How do I change the card we pay with? The one ending {last4} expires in {month}.",
            "Our company card ending {last4} runs out in {month}. What do I need to do so the "
            "subscription keeps working?",
        ),
        good=(
            "The account Owner or a Billing admin can replace the card ending {last4} in Settings → "
            "Billing → Payment method. Cards are handled by our payment processor, so please don't "
            "send card details in this chat.",
            "Before {month}, add the new card in Settings → Billing → Payment method (the Owner and "
            "Billing admins can do this). Nobody at Ledgerly ever needs the full card number or CVV, "
            "so there's no need to share them here.",
        ),
        bad=(
            (
                "mishandled_card_data",
                "Sure, just send me the full number, expiry date and CVV of the new card and I'll "
                "replace the one ending {last4} before {month}.",
            ),
            (
                "pretended_account_access",
                "I've updated the card ending {last4} on your account, so you're all set for {month}.",
            ),
            (
                "no_next_step",
                "You can change it in the app somewhere; it should be easy to find before {month}.",
            ),
            (
                "wrong_information",
                "Card changes are made by emailing the new card number to billing@ledgerly.example; "
                "do it well before the card ending {last4} expires in {month}.",
            ),
        ),
        extras=(
            "If a payment fails, it is retried three times over 7 days before the account becomes read-only.",
        ),
    ),
    Scenario(
        topic="card_data",
        questions=(
            "My payment failed again. Here's my new card: {pan}, exp {exp}, CVV {cvv}. Please use it.",
            "Card {pan} (expiry {exp}, security code {cvv}) is the new one, please charge it instead.",
        ),
        good=(
            "Please don't share card details in chat; I'd recommend deleting that message. I can't "
            "take or store card data. To add the card ending {last4}, go to Settings → Billing → "
            "Payment method.",
            "Thanks for letting me know, but please don't post card numbers or security codes here: "
            "nobody at Ledgerly ever needs them. You can add the card ending {last4} yourself in "
            "Settings → Billing → Payment method.",
        ),
        bad=(
            (
                "mishandled_card_data",
                "Thanks! I've noted card {pan} with CVV {cvv} and will use it for the next attempt.",
            ),
            (
                "mishandled_card_data",
                "Got it. To confirm, please also send the name on the card ending {last4} and the "
                "billing address, and I'll try the charge again.",
            ),
            (
                "mishandled_card_data",
                "I can't process payments in chat. Go to Settings → Billing → Payment method to add "
                "the card ending {last4}.",
            ),
            (
                "wrong_information",
                "Your account will be deleted in 24 hours if the payment isn't fixed, so I've passed "
                "the card ending {last4} to the billing team.",
            ),
        ),
        extras=(
            "A failed payment is retried three times over 7 days; after that the account becomes "
            "read-only until the balance is paid, and no data is deleted.",
        ),
    ),
    Scenario(
        topic="plan",
        questions=(
            "If we upgrade from {plan} to {other} today, when does it take effect and what do we pay?",
            "Thinking of moving from {plan} to {other}. Is the change immediate? How is it billed?",
        ),
        good=(
            "An upgrade from {plan} to {other} takes effect immediately, and you're charged a "
            "prorated amount for the rest of the current billing period. The account Owner or a "
            "Billing admin can do it in Settings → Billing.",
            "Moving up to {other} is immediate: the Owner or a Billing admin can switch in Settings → "
            "Billing, and the charge is prorated for the part of the period that's left.",
        ),
        bad=(
            (
                "wrong_information",
                "Upgrades to {other} start at your next renewal, and you'll pay the full {other} price "
                "then, with no proration.",
            ),
            (
                "pretended_account_access",
                "Done! I've upgraded you from {plan} to {other}; the prorated charge will appear on "
                "your next invoice.",
            ),
            (
                "no_next_step",
                "{other} is a great choice! Upgrading from {plan} is easy, and the price depends on "
                "your situation.",
            ),
            (
                "rude_or_dismissive",
                "It's all on the pricing page. Upgrading from {plan} to {other} isn't complicated.",
            ),
        ),
        extras=("Plans can be paid monthly or annually.",),
    ),
    Scenario(
        topic="plan",
        questions=(
            "We want to downgrade from {other} to {plan}. Do we get money back for the rest of the "
            "{cycle} period?",
            "If I switch from {other} down to {plan} now, is the unused part of our {cycle} plan refunded?",
        ),
        good=(
            "A downgrade from {other} to {plan} takes effect at your next renewal, so you keep "
            "{other} until then. There are no automatic refunds for unused time; if you think your "
            f"case needs an exception, the billing team decides: {_CONTACT}.",
            "Downgrades apply from the next renewal of your {cycle} plan, so you'd stay on {other} "
            "until then and move to {plan} afterwards. Unused time isn't refunded automatically; "
            "questions about a credit go to the billing team at billing@ledgerly.example.",
        ),
        bad=(
            (
                "promised_refund",
                "Yes! Downgrade to {plan} now and the unused part of your {cycle} {other} plan will be "
                "refunded to your card straight away.",
            ),
            (
                "wrong_information",
                "A downgrade to {plan} takes effect immediately and the difference is credited to "
                "your next {cycle} invoice.",
            ),
            (
                "pretended_account_access",
                "I've scheduled your downgrade from {other} to {plan} and added a credit for the "
                "unused days.",
            ),
        ),
        extras=("The Owner or a Billing admin makes the change in Settings → Billing.",),
    ),
    Scenario(
        topic="cancel",
        questions=(
            "How do I cancel our {plan} subscription? Will we lose access straight away?",
            "I'd like to stop paying for {plan}. What happens to our access if I cancel?",
        ),
        good=(
            "The account Owner can cancel in Settings → Billing → Cancel subscription. You keep "
            "access to {plan} until the end of the period you've already paid for.",
            "To cancel {plan}, the Owner goes to Settings → Billing → Cancel subscription. Access "
            "continues until the end of the paid period, so nothing stops straight away.",
        ),
        bad=(
            (
                "wrong_information",
                "Cancelling {plan} ends access immediately and deletes your data, so export "
                "everything first.",
            ),
            ("pretended_account_access", "I've cancelled your {plan} subscription; access ends today."),
            ("no_next_step", "Sorry to see you go! You can cancel {plan} whenever you like."),
            (
                "rude_or_dismissive",
                "If you want to leave {plan}, the cancel button is in the settings. It's not hard to find.",
            ),
        ),
        extras=("Your data stays in the account after the cancellation takes effect.",),
    ),
    Scenario(
        topic="cancel",
        questions=(
            "The account Owner, {name}, has left the company. I need to cancel our {plan} plan. How?",
            "{name} was our Owner but doesn't work here any more. Can I cancel the {plan} subscription?",
        ),
        good=(
            "When the Owner isn't available, a cancellation needs identity verification by the "
            f"billing team. Please contact them through {_CONTACT} and explain that {{name}} has left; "
            "they reply within one business day.",
            "Only the Owner can cancel from the app, so with {name} gone the billing team has to "
            "verify who you are first. Write to billing@ledgerly.example or use Help → Contact "
            "billing, mentioning the {plan} plan; they answer within one business day.",
        ),
        bad=(
            ("missing_escalation", "Only the Owner can cancel {plan}, so you'll need {name} to do it."),
            (
                "pretended_account_access",
                "I've verified your identity and cancelled the {plan} plan on {name}'s behalf.",
            ),
            (
                "pretended_account_access",
                "No problem, I'll transfer ownership from {name} to you now, and then you can cancel {plan}.",
            ),
        ),
        extras=(
            "Once ownership is sorted out, the Owner role can grant Billing admin access in Settings → Team.",
        ),
    ),
    Scenario(
        topic="trial",
        questions=(
            "Does the free trial need a credit card, and how long is it? Thinking about {plan}.",
            "Before I try {plan}: how many days is the trial and do I have to enter card details?",
        ),
        good=(
            "The free trial lasts 14 days and doesn't need a card. You can pick {plan} or another "
            "plan when it ends.",
            "No card is needed for the trial, and it runs for 14 days, so you can try {plan} features "
            "before deciding.",
        ),
        bad=(
            (
                "wrong_information",
                "The trial is 30 days, and we need a card up front; {plan} then starts billing "
                "automatically.",
            ),
            ("wrong_information", "Trials last 7 days for {plan} and require a card."),
            (
                "no_next_step",
                "The trial is pretty generous; you'll see the details when you sign up for {plan}.",
            ),
        ),
        extras=("Plans can be paid monthly or annually after the trial.",),
    ),
    Scenario(
        topic="trial",
        questions=(
            "My trial ends on {month} {day} and I haven't had time to test {plan}. Can you extend it?",
            "Could I get a few more days on the trial? It runs out {month} {day} and I still need "
            "to try {plan}.",
        ),
        good=(
            "I can't change trials myself. Trials last 14 days; if you'd like to ask for an exception "
            f"before {{month}} {{day}}, the billing team decides: {_CONTACT}. They reply within one "
            "business day.",
            "I'm not able to extend the trial, but you can ask the billing team before {month} {day} "
            "at billing@ledgerly.example or through Help → Contact billing; they decide on exceptions "
            "and reply within one business day.",
        ),
        bad=(
            (
                "pretended_account_access",
                "I've extended your trial past {month} {day} by another two weeks, so enjoy {plan}!",
            ),
            (
                "wrong_information",
                "Trials can always be extended to 30 days; it will happen automatically after {month} {day}.",
            ),
            (
                "rude_or_dismissive",
                "The trial ending {month} {day} is the trial. You had 14 days to test {plan}.",
            ),
        ),
        extras=("The trial needs no card, so nothing is charged when it ends.",),
    ),
    Scenario(
        topic="vat",
        questions=(
            "How do I add our VAT ID {vat} to our invoices?",
            "We need VAT number {vat} on every invoice from now on. Where do I put it?",
        ),
        good=(
            "The account Owner or a Billing admin can add VAT ID {vat} in Settings → Billing → "
            "Billing details; it will appear on future invoices.",
            "Enter {vat} in Settings → Billing → Billing details. From then on it's printed on new "
            "invoices; if you need past ones re-issued with it, the billing team can do that "
            f"({_CONTACT}).",
        ),
        bad=(
            (
                "pretended_account_access",
                "I've added {vat} to your billing details; it'll show on your next invoice.",
            ),
            (
                "wrong_information",
                "VAT IDs can only be added by emailing {vat} to security@ledgerly.example.",
            ),
            ("no_next_step", "You can usually add tax details like {vat} somewhere in the settings."),
        ),
        extras=(
            "Past invoices keep the details they were issued with; the billing team can re-issue them "
            "through Help → Contact billing or billing@ledgerly.example.",
        ),
    ),
    Scenario(
        topic="vat",
        questions=(
            "We were charged VAT on the {month} invoice even though we gave our VAT ID {vat}. Can you "
            "remove it and refund the VAT?",
            "VAT was added to our {month} bill despite VAT ID {vat} being on file. I want that money back.",
        ),
        good=(
            "I can't change invoices or issue refunds, but the billing team can look into it: contact "
            f"them via {_CONTACT} with the {{month}} invoice and your VAT ID {{vat}}. Please also "
            "check that {vat} is in Settings → Billing → Billing details so future invoices use it.",
            "The billing team decides on corrections like this one. Send the {month} invoice and VAT "
            "ID {vat} to billing@ledgerly.example (or use Help → Contact billing); they reply within "
            "one business day.",
        ),
        bad=(
            (
                "promised_refund",
                "You'll definitely get the VAT from {month} back; I've flagged {vat} for a refund.",
            ),
            (
                "promised_refund",
                "Since your VAT ID {vat} is valid, the VAT on the {month} invoice will be refunded "
                "automatically within a few days.",
            ),
            (
                "missing_escalation",
                "VAT rules are complicated. Make sure {vat} is correct and check your {month} invoice again.",
            ),
        ),
        extras=("Changes to Billing details apply to invoices issued after the change.",),
    ),
    Scenario(
        topic="seat",
        questions=(
            "We're billed for {seats} seats but only {used} people use Ledgerly. This has been going "
            "on since {month}. Can we get the difference back?",
            "Since {month} we've paid for {seats} seats while our team is {used} people. Please credit us.",
        ),
        good=(
            "I can't see your account or change billing, and refunds or credits are decided by the "
            f"billing team. Please contact them through {_CONTACT} with the invoices since {{month}} "
            "and the number of people you actually have ({used}); they reply within one business day.",
            "A credit for seats since {month} is something only the billing team can decide. Email "
            "billing@ledgerly.example or use Help → Contact billing, saying you're billed for {seats} "
            "seats with {used} users. Expect an answer within one business day.",
        ),
        bad=(
            (
                "promised_refund",
                "That's definitely an error. You'll get the money for the {extra} extra seats back for "
                "every month since {month}.",
            ),
            (
                "pretended_account_access",
                "I can see {seats} seats on your account; I've removed the {extra} extra ones and "
                "credited you.",
            ),
            ("no_next_step", "Seat counts can be confusing. Maybe review who has joined since {month}."),
            (
                "rude_or_dismissive",
                "You're billed for {seats} seats because someone added {seats} seats. Removing people "
                "is your job.",
            ),
        ),
        extras=("Invoices in Settings → Billing → Invoices list what each charge was for.",),
    ),
    Scenario(
        topic="seat",
        questions=(
            "Your billing is a scam. {seats} seats charged when we have {used}. Fix it or I'm "
            "doing a chargeback.",
            "Unbelievable. We pay for {seats} seats and have {used} users. Sort it out today.",
        ),
        good=(
            "I'm sorry this has been so frustrating. I can't see or change your account myself, but "
            "the billing team can review the seat charges and decide on any correction: "
            f"{_CONTACT}, with the invoices that list {{seats}} seats. They reply within one business day.",
            "I understand, paying for {seats} seats with {used} users would annoy anyone. The billing "
            "team handles disputed charges: please write to billing@ledgerly.example or use Help → "
            "Contact billing, and they'll reply within one business day.",
        ),
        bad=(
            (
                "rude_or_dismissive",
                "Calling it a scam won't help. You have {seats} seats because someone on your team "
                "added them.",
            ),
            (
                "promised_refund",
                "I completely understand. We'll refund the {extra} extra seats right away, no "
                "chargeback needed.",
            ),
            (
                "missing_escalation",
                "I'm sorry about the {seats} seats. Please reach out to our billing team to sort it out.",
            ),
        ),
        extras=("Invoices in Settings → Billing → Invoices list the number of seats each charge covers.",),
    ),
)
"""Every support-billing scenario (two per topic)."""

_EMPATHY = (
    "Sorry for the trouble.",
    "I understand this is frustrating.",
    "Thanks for your patience.",
    "I get why this is confusing.",
)
_OPENERS = ("Hi there!", "Thanks for reaching out.", "Hello!")
_CLOSINGS = (
    "Hope this helps!",
    "Let me know if you have any other questions.",
    "Have a great day!",
    "Happy to help!",
    "Is there anything else I can help you with today?",
)
_NO_EXTRAS = {"no_next_step", "missing_escalation"}  # extra facts could turn these into passes
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_AMOUNTS = (19, 29, 39, 49, 58, 79, 99, 129, 190, 290, 390, 490, 990, 1188)
_PLANS = ("Starter", "Pro", "Business")
_NAMES = ("Maria", "Tom", "Aisha", "Jonas", "Priya", "Luca", "Sofia", "Kenji", "Olga", "David")
_PANS = (  # the well-known public test numbers of card processors
    "4242 4242 4242 4242",
    "5555 5555 5555 4444",
    "4000 0566 5566 5556",
    "4000 0025 0000 3155",
    "3782 822463 10005",
    "6011 1111 1111 1117",
)
_VAT_PREFIX = ("DE", "FR", "NL", "IE", "ES", "IT", "BE", "AT")


def _slots(t: random.Random) -> dict[str, str]:
    low, high = sorted(t.sample(range(len(_PLANS)), 2))
    pan = t.choice(_PANS)
    seats = t.randint(6, 60)
    used = t.randint(2, seats - 2)
    return {
        "amount": f"${t.choice(_AMOUNTS)}",
        "month": t.choice(_MONTHS),
        "day": str(t.randint(1, 28)),
        "plan": _PLANS[low],
        "other": _PLANS[high],
        "cycle": t.choice(("monthly", "annual")),
        "name": t.choice(_NAMES),
        "pan": pan,
        "last4": pan.replace(" ", "")[-4:],
        "exp": f"{t.randint(1, 12):02d}/{t.randint(27, 31)}",
        "cvv": f"{t.randint(100, 999)}",
        "vat": f"{t.choice(_VAT_PREFIX)}{t.randint(10**8, 10**9 - 1)}",
        "seats": str(seats),
        "used": str(used),
        "extra": str(seats - used),
    }


def _support_texts(
    t: random.Random, topic: str, passes: bool, pleasantries: bool = True
) -> tuple[str, str, str | None]:
    """(user message, answer, failure mode or None) for one item; without ``pleasantries`` no
    greeting or polite closing sentence is added."""
    scenario = t.choice([s for s in SCENARIOS if s.topic == topic])
    slots = _slots(t)
    question = t.choice(scenario.questions).format(**slots)
    failure: str | None = None
    if passes:
        parts = [t.choice(scenario.good)]
        extras = list(scenario.extras)
        t.shuffle(extras)
        parts += extras[: t.choice((0, 0, 1, 1, 2))]
        pleasantry = t.random() < 0.4
    else:
        failure, body = t.choice(scenario.bad)
        parts = [body]
        if failure not in _NO_EXTRAS and scenario.extras and t.random() < 0.3:
            parts.append(t.choice(scenario.extras))
        pleasantry = t.random() < 0.2
    if failure != "rude_or_dismissive" and t.random() < 0.3:
        parts.insert(0, t.choice(_EMPATHY))
    if pleasantry and pleasantries:
        if t.random() < 0.3:
            parts.insert(0, t.choice(_OPENERS))
        parts.append(t.choice(_CLOSINGS))
    answer = " ".join(p.format(**slots) for p in parts)
    return question, answer, failure


_DEV_ROUNDS = (1, 4, 8)
"""Rounds of the topics (mod 10) whose items are pinned to dev: 30% of every slice and class."""


def _family(i: int) -> str:
    """Family of binary item ``i``: items ``2k`` and ``2k + 1`` (one per class) share a family, which
    cycles over :data:`FAMILIES` and shifts by one at every round of the topics, so the families are
    balanced across classes and rotate over the topics."""
    k = i // 2
    return FAMILIES[(k + k // len(TOPICS)) % len(FAMILIES)]


def binary_items(
    n: int, *, seed: int = 7, noise: float = 0.05, pleasantries: bool = True
) -> list[dict[str, Any]]:
    """``n`` support-billing gold items (JSON-ready dicts), alternating true pass / fail.

    Item ``i`` (id ``syn-{i:04d}``) is about ``TOPICS[(i // 2) % 10]`` and truly passes when ``i``
    is even.
    Each annotator of :data:`ANNOTATORS` reports the truth, or with probability ``noise`` the other
    label. Label draws come from ``random.Random(seed)`` in the order earlier versions of this
    generator used, so the labels of a given ``n, seed, noise`` are stable; texts come from a
    separate stream per item. ``metadata.split`` pins the split: rounds 1, 4 and 8 of every ten
    rounds of the topics go to dev, i.e. 30% of every (slice, class) cell, spread over the
    families. Every answer is distinct and none contains another (the simulated judge
    recognises items by their answer text). ``pleasantries=False`` leaves out the greetings and
    polite closing sentences (then the verbosity probe has no concision variant to derive).
    """
    _check_args(n, noise)
    rng = random.Random(seed)
    flip = {"pass": "fail", "fail": "pass"}
    out: list[dict[str, Any]] = []
    seen = _Seen()
    for i in range(n):
        rng.randrange(10**6)  # kept: earlier versions drew a case number here
        truth = "pass" if i % 2 == 0 else "fail"
        topic = TOPICS[(i // 2) % len(TOPICS)]
        question, answer, failure = _unique(
            seen,
            functools.partial(_support_texts, topic=topic, passes=truth == "pass", pleasantries=pleasantries),
            lambda drawn: [drawn[1]],
            f"b:{seed}:{i}",
            strict=n <= _STRICT_UP_TO,
            distinguish=lambda d, ref: (
                f"{d[0]} (My case reference is {ref}.)",
                f"{d[1]} (Case reference {ref}.)",
                d[2],
            ),
        )
        labels = {a: (truth if rng.random() >= noise else flip[truth]) for a in ANNOTATORS}
        rounds = (i // 2) // len(TOPICS)
        metadata: dict[str, Any] = {
            "slice": topic,
            "generator_family": _family(i),
            "truth": truth,
            "split": "dev" if rounds % 10 in _DEV_ROUNDS else "test",
        }
        if failure is not None:
            metadata["failure_mode"] = failure
        out.append(
            {
                "id": f"syn-{i:04d}",
                "inputs": {"input": question, "output": answer},
                "metadata": metadata,
                "labels": labels,
            }
        )
    return out


class _Seen:
    """The outputs drawn so far, indexed to tell quickly whether a new text contains one of
    them or is contained in one (a substring search over joined chunks, and a table of
    24-character prefixes)."""

    _KEY = 24
    _CHUNK = 64

    def __init__(self) -> None:
        self.drawn: set[tuple[str, ...]] = set()
        self._by_prefix: dict[str, list[str]] = {}
        self._short: list[str] = []
        self._chunks: list[str] = []
        self._pending: list[str] = []

    def nested(self, text: str) -> bool:
        """True when ``text`` equals, contains or is contained in a text already added."""
        if any(s in text for s in self._short):
            return True
        key = self._KEY
        for i in range(len(text) - key + 1):
            for s in self._by_prefix.get(text[i : i + key], ()):
                if text.startswith(s, i):
                    return True
        return any(text in c for c in self._chunks) or any(text in p for p in self._pending)

    def add(self, outputs: Sequence[str]) -> None:
        self.drawn.add(tuple(sorted(outputs)))
        for text in outputs:
            if len(text) < self._KEY:
                self._short.append(text)
            else:
                self._by_prefix.setdefault(text[: self._KEY], []).append(text)
            self._pending.append(text)
        if len(self._pending) >= self._CHUNK:
            self._chunks.append("\x00".join(self._pending))
            self._pending = []


def _unique(
    seen: _Seen,
    make: Callable[[random.Random], _T],
    outputs_of: Callable[[_T], list[str]],
    stream: str,
    *,
    strict: bool,
    distinguish: Callable[[_T, str], _T] | None = None,
) -> _T:
    """Draw with ``make`` (from the text stream ``stream``, then its retries) until the drawn
    outputs are new; add them to ``seen``.

    New means: no drawn output contains another, and (``strict``) none equals, contains or is
    contained in an output drawn before. When the first :data:`_STRICT_ATTEMPTS` draws all fail
    that, or without ``strict`` (sets of more than :data:`_STRICT_UP_TO` items, where the check
    would cost seconds), a draw whose outputs together differ from every earlier item's is
    accepted.
    """
    for attempt in range(_MAX_ATTEMPTS):
        drawn = make(random.Random(f"judgecal.synthetic:{stream}:{attempt}"))
        outputs = outputs_of(drawn)
        if any(a in b for j, a in enumerate(outputs) for k, b in enumerate(outputs) if j != k):
            continue
        if strict and attempt < _STRICT_ATTEMPTS:
            if any(seen.nested(o) for o in outputs):
                continue
        elif tuple(sorted(outputs)) in seen.drawn:
            continue
        seen.add(outputs)
        return drawn
    if distinguish is not None:
        # a large set can exhaust the templates' variety: the first draw, with a reference the
        # user gave (the item number) written into it, is new by construction
        drawn = distinguish(make(random.Random(f"judgecal.synthetic:{stream}:0")), stream.rsplit(":", 1)[-1])
        outputs = outputs_of(drawn)
        if tuple(sorted(outputs)) not in seen.drawn:
            seen.add(outputs)
            return drawn
    raise RuntimeError(f"no distinct texts for {stream} after {_MAX_ATTEMPTS} attempts")  # pragma: no cover


def _check_args(n: int, noise: float) -> None:
    if n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    if not 0.0 <= noise < 0.5:
        raise ValueError(f"noise must be in [0, 0.5), not {noise}")


# --------------------------------------------------------------------------------------------
# pairwise tasks: (instruction, correct short, correct long, wrong short, wrong long)

_Task = tuple[str, str, str, str, str]


def _arithmetic(t: random.Random) -> _Task:
    a, tens, ones = t.randint(12, 98), t.randint(1, 9), t.randint(1, 9)
    b = 10 * tens + ones
    p, x1, x2 = a * b, a * tens * 10, a * ones
    slip = t.choice((10, -10, 1, -1, a, -a))
    w, x2w = p + slip, x2 + slip
    work = "Working: {a} × {bt} = {x1} and {a} × {bo} = {x2}, and {x1} + {x2} = {r}."
    return (
        f"What is {a} × {b}?",
        f"{a} × {b} = {p}.",
        f"{a} × {b} = {p}. " + work.format(a=a, bt=tens * 10, bo=ones, x1=x1, x2=x2, r=p),
        f"{a} × {b} = {w}.",
        f"{a} × {b} = {w}. " + work.format(a=a, bt=tens * 10, bo=ones, x1=x1, x2=x2w, r=w),
    )


_UNITS = (
    ("kilometres", "metres", "km", "m", 1000, "one kilometre is 1,000 metres"),
    ("kilograms", "grams", "kg", "g", 1000, "one kilogram is 1,000 grams"),
    ("hours", "minutes", "h", "min", 60, "one hour is 60 minutes"),
    ("minutes", "seconds", "min", "s", 60, "one minute is 60 seconds"),
    ("litres", "millilitres", "l", "ml", 1000, "one litre is 1,000 millilitres"),
)


def _conversion(t: random.Random) -> _Task:
    big, small, bs, ss, factor, why = t.choice(_UNITS)
    x = t.randint(2, 250)
    wrong_factor = 100
    right, wrong = x * factor, x * wrong_factor
    return (
        f"Convert {x} {big} to {small}.",
        f"{x} {bs} = {right:,} {ss}.",
        f"{x} {bs} = {right:,} {ss}, because {why}, so you multiply {x} by {factor:,}.",
        f"{x} {bs} = {wrong:,} {ss}.",
        f"{x} {bs} = {wrong:,} {ss}, because you multiply {x} by {wrong_factor} to go from {big} to {small}.",
    )


_POOLS: dict[str, tuple[tuple[str, str], ...]] = {
    "chemical elements": (
        ("Hydrogen", "symbol H"),
        ("Helium", "symbol He"),
        ("Carbon", "symbol C"),
        ("Nitrogen", "symbol N"),
        ("Oxygen", "symbol O"),
        ("Sodium", "symbol Na"),
        ("Iron", "symbol Fe"),
        ("Copper", "symbol Cu"),
        ("Silver", "symbol Ag"),
        ("Gold", "symbol Au"),
        ("Neon", "symbol Ne"),
        ("Calcium", "symbol Ca"),
    ),
    "European capital cities": (
        ("Paris", "capital of France"),
        ("Madrid", "capital of Spain"),
        ("Lisbon", "capital of Portugal"),
        ("Rome", "capital of Italy"),
        ("Berlin", "capital of Germany"),
        ("Vienna", "capital of Austria"),
        ("Warsaw", "capital of Poland"),
        ("Prague", "capital of Czechia"),
        ("Dublin", "capital of Ireland"),
        ("Athens", "capital of Greece"),
        ("Oslo", "capital of Norway"),
        ("Helsinki", "capital of Finland"),
    ),
    "fruits": (
        ("Apple", "grows on trees"),
        ("Banana", "yellow when ripe"),
        ("Cherry", "has a single stone"),
        ("Mango", "tropical"),
        ("Pear", "related to the apple"),
        ("Plum", "dried as a prune"),
        ("Kiwi", "brown, fuzzy skin"),
        ("Lemon", "sour citrus"),
        ("Grape", "grows in bunches"),
        ("Peach", "fuzzy skin"),
        ("Apricot", "small stone fruit"),
        ("Papaya", "black seeds inside"),
    ),
}


def _counting(t: random.Random) -> _Task:
    category = t.choice(sorted(_POOLS))
    k = t.randint(3, 6)
    chosen = t.sample(_POOLS[category], k + 2)
    right, wrong_short, wrong_long = chosen[:k], chosen[: k - 1], chosen
    return (
        f"Name exactly {k} {category}, one per line.",
        "\n".join(name for name, _ in right),
        "\n".join(f"{name} ({note})" for name, note in right),
        "\n".join(name for name, _ in wrong_short),
        f"Here are some {category}:\n" + "\n".join(f"{name} ({note})" for name, note in wrong_long),
    )


def _sorting(t: random.Random) -> _Task:
    nums = t.sample(range(1, 500), t.randint(5, 7))
    ordered = sorted(nums)
    j = t.randrange(len(ordered) - 1)
    wrong = list(ordered)
    wrong[j], wrong[j + 1] = wrong[j + 1], wrong[j]

    def show(xs: Sequence[int]) -> str:
        return ", ".join(str(x) for x in xs)

    tail = f" The smallest is {ordered[0]} and the largest is {ordered[-1]}."
    return (
        f"Sort these numbers from smallest to largest: {show(nums)}.",
        show(ordered),
        f"From smallest to largest: {show(ordered)}." + tail,
        show(wrong),
        f"From smallest to largest: {show(wrong)}." + tail,
    )


def _is_prime(n: int) -> bool:
    return n > 1 and all(n % d for d in range(2, math.isqrt(n) + 1))


_PRIMES = [p for p in range(101, 1000) if _is_prime(p)]
_COMPOSITES = sorted(
    {p * q for p in (7, 11, 13, 17, 19, 23, 29, 31) for q in (7, 11, 13, 17, 19, 23, 29, 31) if p <= q}
)


def _primes(t: random.Random) -> _Task:
    question = "Is {n} a prime number? Answer and give the reason."
    if t.random() < 0.5:
        n = t.choice(_COMPOSITES)
        p = next(d for d in range(2, n) if n % d == 0)
        q = n // p
        return (
            question.format(n=n),
            f"No: {n} = {p} × {q}.",
            f"No. {n} is divisible by {p}, because {p} × {q} = {n}, so it has a divisor other than 1 "
            "and itself and is not prime.",
            f"Yes, {n} is prime.",
            f"Yes. {n} is odd and does not end in 5, so it has no divisors other than 1 and itself: "
            f"{n} is prime.",
        )
    n = t.choice(_PRIMES)
    f = t.choice([d for d in (3, 7, 11, 13, 17, 19) if n % d])
    return (
        question.format(n=n),
        f"Yes, {n} is prime.",
        f"Yes. {n} is prime: no prime up to {math.isqrt(n)} (the integer part of its square root) "
        "divides it, so its only divisors are 1 and itself.",
        f"No: {n} is divisible by {f}.",
        f"No. {n} is divisible by {f}, so it has a divisor other than 1 and itself and is not prime.",
    )


_TOWNS = ("Arnfeld", "Belmora", "Castlewick", "Dunmere", "Eskby", "Farrowdale", "Glenholt", "Harwick")
_FACILITIES = ("library", "swimming pool", "concert hall", "sports arena", "museum", "railway station")


def _summary(t: random.Random) -> _Task:
    town, facility, month = t.choice(_TOWNS), t.choice(_FACILITIES), t.choice(_MONTHS)
    cost, years, cap = t.randint(4, 90), t.randint(2, 6), t.randrange(300, 9000, 50)
    wrong_cap = cap + t.choice((-200, 200, 1000))
    text = (
        f"{town} opened a new {facility} in {month}. It cost {cost} million euros and took {years} "
        f"years to build. The {facility} can hold {cap} people."
    )
    return (
        f"Summarise in one sentence: {text}",
        f"{town} opened a {cost}-million-euro {facility} for {cap} people in {month}.",
        f"In {month}, {town} opened a new {facility} that took {years} years and {cost} million euros "
        f"to build and can hold {cap} people.",
        f"{town} opened a {facility}. It holds {cap} people.",
        f"{town} has a new {facility}, opened in {month}. Building it took {years} years and cost "
        f"{cost} million euros. It can hold {wrong_cap} people.",
    )


_WORDS = [
    "library",
    "planet",
    "garden",
    "window",
    "bicycle",
    "kitchen",
    "mountain",
    "orange",
    "silver",
    "thunder",
    "journey",
    "blanket",
    "pencil",
    "harbour",
    "lantern",
    "meadow",
    "rocket",
    "saddle",
    "timber",
    "velvet",
    "walnut",
    "yellow",
    "cabinet",
    "dolphin",
    "feather",
    "glacier",
    "horizon",
    "island",
    "jungle",
    "kettle",
    "ladder",
    "marble",
    "napkin",
    "oyster",
    "parcel",
    "quartz",
    "ribbon",
    "spider",
    "tunnel",
    "umbrella",
    "violin",
    "whistle",
    "anchor",
    "butter",
    "candle",
    "desert",
    "engine",
    "forest",
    "guitar",
    "hammer",
]


def _reverse(t: random.Random) -> _Task:
    words = t.sample(_WORDS, t.randint(4, 6))
    rev = words[::-1]
    j = t.randrange(len(rev) - 1)
    bad = list(rev)
    bad[j], bad[j + 1] = bad[j + 1], bad[j]
    return (
        f"Write these words in reverse order, separated by commas: {', '.join(words)}.",
        ", ".join(rev),
        f"In reverse order: {', '.join(rev)}. The last word, {words[-1]}, now comes first.",
        ", ".join(bad),
        f"In reverse order: {', '.join(bad)}. The last word, {words[-1]}, now comes first.",
    )


_TASKS: dict[str, Callable[[random.Random], _Task]] = {
    "arithmetic": _arithmetic,
    "conversion": _conversion,
    "counting": _counting,
    "sorting": _sorting,
    "primes": _primes,
    "summary": _summary,
    "reverse_order": _reverse,
}
PAIRWISE_SLICES = list(_TASKS)
"""The pairwise set's slices (task types)."""
_TIE_SLICES = ("conversion", "counting", "primes", "summary")
"""Slices whose two correct responses differ without one containing the other (tie pairs)."""


def _pair_texts(t: random.Random, slice_: str, tie: bool) -> tuple[str, str, str, bool | None]:
    """(instruction, better or first output, worse or second output, better_is_longer)."""
    instruction, good_short, good_long, bad_short, bad_long = _TASKS[slice_](t)
    if tie:
        return instruction, good_short, good_long, None
    if t.random() < 0.5:
        better, worse = good_long, bad_short
    else:
        better, worse = good_short, bad_long
    return instruction, better, worse, len(better) > len(worse)


def pairwise_items(n: int, *, seed: int = 7, noise: float = 0.05, ties: float = 0.0) -> list[dict[str, Any]]:
    """``n`` pairwise-preference gold items (JSON-ready dicts).

    Item ``i`` (id ``syn-{i:04d}``) is a task of slice ``PAIRWISE_SLICES[i % 7]``. A share
    ``ties`` of the items (drawn per item, in four of the seven slices) are ties: two correct
    responses of different length. Otherwise one response is correct and the other is not, the correct one
    on side A or B with probability 1/2, and in about half of the pairs the correct one is the
    longer (``metadata.better_is_longer``). Annotators flip A <-> B with probability ``noise``
    (a tie becomes A or B). Families: the better output's family cycles through
    :data:`FAMILIES`, the worse output's is another one.
    """
    _check_args(n, noise)
    if not 0.0 <= ties < 1.0:
        raise ValueError(f"ties must be in [0, 1), not {ties}")
    rng = random.Random(seed)
    flip = {"A": "B", "B": "A"}
    out: list[dict[str, Any]] = []
    seen = _Seen()
    for i in range(n):
        rng.randrange(10**6)  # kept: earlier versions drew a case number here
        side = "A" if rng.random() < 0.5 else "B"
        slice_ = PAIRWISE_SLICES[i % len(PAIRWISE_SLICES)]
        tie = slice_ in _TIE_SLICES and (
            random.Random(f"judgecal.synthetic:tie:{seed}:{i}").random()
            < ties * len(_TASKS) / len(_TIE_SLICES)
        )
        instruction, first, second, longer = _unique(
            seen,
            functools.partial(_pair_texts, slice_=slice_, tie=tie),
            lambda drawn: [drawn[1], drawn[2]],
            f"p:{seed}:{i}",
            strict=n <= _STRICT_UP_TO,
            distinguish=lambda d, ref: (
                f"{d[0]} (Request {ref}.)",
                f"{d[1]} (Request {ref}.)",
                f"{d[2]} (Request {ref}.)",
                d[3],
            ),
        )
        truth = "tie" if tie else side
        a, b = (first, second) if side == "A" else (second, first)
        better_family = FAMILIES[i % len(FAMILIES)]
        worse_family = FAMILIES[(i + 1 + (i // len(FAMILIES)) % (len(FAMILIES) - 1)) % len(FAMILIES)]
        fam_a, fam_b = (better_family, worse_family) if side == "A" else (worse_family, better_family)
        labels: dict[str, str] = {}
        for annotator in ANNOTATORS:
            if rng.random() >= noise:
                labels[annotator] = truth
            else:
                labels[annotator] = flip[truth] if truth != "tie" else ("A" if rng.random() < 0.5 else "B")
        metadata: dict[str, Any] = {
            "slice": slice_,
            "generator_family_a": fam_a,
            "generator_family_b": fam_b,
            "truth": truth,
            "better_is_longer": longer,
        }
        out.append(
            {
                "id": f"syn-{i:04d}",
                "inputs": {"input": instruction, "output_a": a, "output_b": b},
                "metadata": metadata,
                "labels": labels,
            }
        )
    return out


# --------------------------------------------------------------------------------------------
# files


def to_jsonl(items: Sequence[dict[str, Any]]) -> str:
    """One JSON object a line (UTF-8 text, not ASCII-escaped), ending with a newline."""
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)


def write_gold(
    path: str | Path,
    *,
    kind: Literal["binary", "pairwise"] = "binary",
    n: int = 200,
    seed: int = 7,
    noise: float = 0.05,
    ties: float = 0.0,
    pleasantries: bool = True,
) -> Path:
    """Write a generated gold set (:func:`binary_items` for support-billing or
    :func:`pairwise_items` for pairwise-preference) as JSONL; returns the path."""
    if kind == "binary":
        if ties:
            raise ValueError("ties apply to pairwise gold sets only")
        items = binary_items(n, seed=seed, noise=noise, pleasantries=pleasantries)
    elif kind == "pairwise":
        if not pleasantries:
            raise ValueError("pleasantries apply to binary gold sets only")
        items = pairwise_items(n, seed=seed, noise=noise, ties=ties)
    else:
        raise ValueError(f"kind must be 'binary' or 'pairwise', not {kind!r}")
    out = Path(path)
    out.write_bytes(to_jsonl(items).encode("utf-8"))
    return out


def write_shipped(folder: str | Path) -> list[Path]:
    """Write every gold set of :data:`SHIPPED` into ``folder`` (``<name>.jsonl``)."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    return [write_gold(root / f"{name}.jsonl", **args) for name, args in SHIPPED.items()]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m judgecal.synthetic --out gold``: regenerate the shipped gold sets."""
    parser = argparse.ArgumentParser(prog="python -m judgecal.synthetic", description=main.__doc__)
    parser.add_argument("--out", default="gold", help="folder to write into (default: gold)")
    args = parser.parse_args(argv)
    for path in write_shipped(args.out):
        print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
