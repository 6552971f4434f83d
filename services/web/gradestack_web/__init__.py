"""gradestack web tier: pages, JSON API, outbox publisher and results consumer."""
