"""Metrics: pure functions over canonical frames (DESIGN.md section 5).

Each function takes frames and an `as_of` date and returns a frame or a
figure; none reads a file, opens a connection or looks at the clock. Every
docstring states the formula it computes. Modules: `progress` (target,
completion, pace, month-end forecast).
"""
