"""Composite alarm rules (CloudWatch's AlarmRule): a boolean expression over other alarms' states, parsed and judged.

The syntax is CloudWatch's: `ALARM(id)`, `OK(id)` and `INSUFFICIENT_DATA(id)` are true when the alarm named is in that
state, `TRUE` and `FALSE` are constants, and `AND`, `OR`, `NOT` and parentheses combine them. An alarm is named by its
id, or its resource name `alarms/{id}`, with or without double quotes. Keywords are read in any case. CloudWatch does
not document an order of operators; this follows the usual one: NOT binds tightest, then AND, then OR
(`ALARM(a) OR ALARM(b) AND NOT OK(c)` is `ALARM(a) OR (ALARM(b) AND (NOT OK(c)))`).

A composite alarm is in ALARM while its expression is true and in OK while it is false, as in CloudWatch. Pure
functions: the states are passed in.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import NamedTuple

from services.alarm.domain import AlarmState, alarm_name

MAX_EXPRESSION_LENGTH = 10240
"""Characters of an expression (CloudWatch's limit of AlarmRule)."""
MAX_REFERENCES = 100
"""Distinct alarms one expression names at most."""
MAX_NESTING = 32
"""Parentheses and NOTs nested in one another at most (the parser recurses once per level)."""

_ALARM_ID = re.compile(r"[a-z][a-z0-9-]{0,62}")
_TOKEN = re.compile(r'\s*(?:(?P<open>\()|(?P<close>\))|"(?P<quoted>[^"]*)"|(?P<word>[^\s()"]+))')

_STATE_FUNCTIONS = {"ALARM": AlarmState.ALARM, "OK": AlarmState.OK, "INSUFFICIENT_DATA": AlarmState.INSUFFICIENT_DATA}


class StateOf(NamedTuple):
    """True when the alarm `alarm_id` is in `state`."""

    state: AlarmState
    alarm_id: str


class Constant(NamedTuple):
    """TRUE or FALSE."""

    value: bool


class Not(NamedTuple):
    """True when its operand is false."""

    operand: Expression


class All(NamedTuple):
    """AND of its operands."""

    operands: tuple[Expression, ...]


class Any_(NamedTuple):
    """OR of its operands."""

    operands: tuple[Expression, ...]


Expression = StateOf | Constant | Not | All | Any_


class ExpressionError(ValueError):
    """An expression that cannot be read; the message says where and why."""


class _Token(NamedTuple):
    kind: str
    """open, close, quoted, word or end."""
    text: str
    position: int


def parse(expression: str) -> Expression:
    """The expression tree of `expression`; ExpressionError naming the position and the rule when it breaks one."""
    return _parsed(expression)


@functools.lru_cache(maxsize=65536)
def _parsed(expression: str) -> Expression:
    # Cached: each judgement and each sweep reads every composite alarm's expression again (a tree is a few kB at most:
    # the cache holds as many as a large deployment has composite alarms).
    if not expression.strip():
        raise ExpressionError("is required; e.g. ALARM(cpu-high) AND NOT ALARM(deploying)")
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"must be at most {MAX_EXPRESSION_LENGTH} characters long, got {len(expression)}")
    parser = _Parser(_tokens(expression))
    tree = parser.disjunction(0)
    parser.expect_end()
    named = references(tree)
    if len(named) > MAX_REFERENCES:
        raise ExpressionError(f"must name at most {MAX_REFERENCES} alarms, names {len(named)}")
    return tree


def _tokens(expression: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while True:
        match = _TOKEN.match(expression, position)
        if match is None:
            rest = expression[position:]
            if rest.strip():
                raise ExpressionError(f"has an unclosed double quote at {position + len(rest) - len(rest.lstrip())}")
            tokens.append(_Token("end", "", len(expression)))
            return tokens
        kind = match.lastgroup or "end"
        tokens.append(_Token(kind, match.group(kind) or "", match.start(kind)))
        position = match.end()


class _Parser:
    """Recursive descent over the tokens: disjunction := conjunction (OR conjunction)*; conjunction := negation (AND
    negation)*; negation := NOT negation | primary; primary := ( disjunction ) | TRUE | FALSE | STATE ( name )."""

    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._at = 0

    def _peek(self) -> _Token:
        return self._tokens[self._at]

    def _next(self) -> _Token:
        token = self._tokens[self._at]
        if token.kind != "end":
            self._at += 1
        return token

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token.kind == "word" and token.text.upper() == word:
            self._at += 1
            return True
        return False

    def disjunction(self, depth: int) -> Expression:
        operands = [self.conjunction(depth)]
        while self._keyword("OR"):
            operands.append(self.conjunction(depth))
        return operands[0] if len(operands) == 1 else Any_(tuple(operands))

    def conjunction(self, depth: int) -> Expression:
        operands = [self.negation(depth)]
        while self._keyword("AND"):
            operands.append(self.negation(depth))
        return operands[0] if len(operands) == 1 else All(tuple(operands))

    def negation(self, depth: int) -> Expression:
        if self._keyword("NOT"):
            return Not(self.negation(self._deeper(depth)))
        return self.primary(depth)

    def primary(self, depth: int) -> Expression:
        token = self._next()
        if token.kind == "open":
            inner = self.disjunction(self._deeper(depth))
            self._expect("close", "a closing parenthesis")
            return inner
        word = token.text.upper() if token.kind == "word" else ""
        if word in ("TRUE", "FALSE"):
            return Constant(word == "TRUE")
        if word in _STATE_FUNCTIONS:
            self._expect("open", f"an opening parenthesis after {word}")
            name = self._next()
            if name.kind not in ("word", "quoted"):
                raise ExpressionError(f"needs an alarm id in {word}( ) at {name.position}")
            alarm_id = name.text.removeprefix("alarms/")
            if _ALARM_ID.fullmatch(alarm_id) is None:
                raise ExpressionError(f"names {name.text!r} at {name.position}, which is no alarm id (^[a-z][a-z0-9-]{{0,62}}$)")
            self._expect("close", f"a closing parenthesis after the alarm id of {word}")
            return StateOf(_STATE_FUNCTIONS[word], alarm_id)
        found = "the end" if token.kind == "end" else repr(token.text or ")")
        raise ExpressionError(
            f"expects ALARM(id), OK(id), INSUFFICIENT_DATA(id), TRUE, FALSE, NOT or a parenthesis at {token.position}, "
            f"found {found}"
        )

    def expect_end(self) -> None:
        token = self._peek()
        if token.kind != "end":
            raise ExpressionError(f"expects AND, OR or the end at {token.position}, found {token.text or ')'!r}")

    def _expect(self, kind: str, what: str) -> None:
        token = self._next()
        if token.kind != kind:
            found = "the end" if token.kind == "end" else repr(token.text or ")")
            raise ExpressionError(f"expects {what} at {token.position}, found {found}")

    @staticmethod
    def _deeper(depth: int) -> int:
        if depth + 1 > MAX_NESTING:
            raise ExpressionError(f"must nest parentheses and NOTs at most {MAX_NESTING} deep")
        return depth + 1


def references(tree: Expression) -> frozenset[str]:
    """The ids of the alarms an expression names."""
    if isinstance(tree, StateOf):
        return frozenset((tree.alarm_id,))
    if isinstance(tree, Constant):
        return frozenset()
    if isinstance(tree, Not):
        return references(tree.operand)
    return frozenset().union(*(references(operand) for operand in tree.operands))


def holds(tree: Expression, state_of: Callable[[str], AlarmState]) -> bool:
    """Whether the expression is true when each alarm it names is in the state `state_of` gives."""
    if isinstance(tree, StateOf):
        return state_of(tree.alarm_id) is tree.state
    if isinstance(tree, Constant):
        return tree.value
    if isinstance(tree, Not):
        return not holds(tree.operand, state_of)
    if isinstance(tree, All):
        return all(holds(operand, state_of) for operand in tree.operands)
    return any(holds(operand, state_of) for operand in tree.operands)


def find_cycle(start: str, named_by: Callable[[str], Iterable[str]]) -> list[str] | None:
    """A path of alarm ids from `start` back to it, each naming the next in its expression (`named_by` gives the ids an
    alarm's expression names: none for an alarm that is no composite); None when there is none."""
    path = [start]
    on_path = {start}
    finished: set[str] = set()
    children: list[Iterator[str]] = [iter(sorted(named_by(start)))]
    while children:
        child = next(children[-1], None)
        if child is None:
            children.pop()
            left = path.pop()
            on_path.discard(left)
            finished.add(left)
        elif child in on_path:
            return [*path[path.index(child):], child]
        elif child not in finished:
            path.append(child)
            on_path.add(child)
            children.append(iter(sorted(named_by(child))))
    return None


def judge(expression: str, states: Mapping[str, AlarmState]) -> tuple[AlarmState, str, dict[str, str]]:
    """The state an expression puts its composite alarm in given the states of the alarms it names (one missing counts
    as INSUFFICIENT_DATA), the reason, and those states by id (the reason data)."""
    tree = parse(expression)
    named = sorted(references(tree))
    state_of: Callable[[str], AlarmState] = lambda alarm_id: states.get(alarm_id, AlarmState.INSUFFICIENT_DATA)  # noqa: E731
    true = holds(tree, state_of)
    shown = ", ".join(f"{alarm_name(alarm_id)} {state_of(alarm_id).value}" for alarm_id in named) or "no alarms named"
    state = AlarmState.ALARM if true else AlarmState.OK
    reason = f"{' '.join(expression.split())} is {'true' if true else 'false'}: {shown}"
    return state, reason, {alarm_id: state_of(alarm_id).value for alarm_id in named}
