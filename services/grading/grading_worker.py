"""Container entry point (``CMD ["python", "grading_worker.py"]`` in services/grading/Dockerfile)."""

from gradestack_grading.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["worker"]))
