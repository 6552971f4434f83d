"""Contract shared by the gradestack web tier and grading workers."""

from gradestack_protocol.feedback import FeedbackPolicy
from gradestack_protocol.messages import (
    FINAL_VERDICTS,
    LANGUAGES,
    REQUEST_QUEUE,
    RESULT_QUEUE,
    GradingRequest,
    GradingResult,
    MessageError,
    TestResult,
)
from gradestack_protocol.problems import Checker, Problem, ProblemError, TestCase, load_problem

__all__ = [
    "FINAL_VERDICTS",
    "LANGUAGES",
    "REQUEST_QUEUE",
    "RESULT_QUEUE",
    "Checker",
    "FeedbackPolicy",
    "GradingRequest",
    "GradingResult",
    "MessageError",
    "Problem",
    "ProblemError",
    "TestCase",
    "TestResult",
    "load_problem",
]
