"""Nurture programs: triggers, steps and goals as data (``definition``), their pure rules
(``rules``), enrollments and the step log (``models``), the scheduler job (``scheduler``),
built-in templates (``templates``), storing and versioning (``store``) and the weekly review
(``review``)."""
