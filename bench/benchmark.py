"""The class-scale benchmark: ``make bench`` (not part of the tests; 28 min here for 200).

It builds synthetic submissions from the kit's own banks (``synthetic/banks.py``: correct ones with
other but correct code, one-bug ones, empty and half-done ones), then measures, in one run:

1. the floor: plain ``nbgrader autograde``, one submission after another, executing each
   notebook with its public checks only (hidden tests removed, no kit), on a sample;
2. the kit serially (``gradekit autograde --jobs 1``) on the same sample;
3. the kit with 2 jobs on the same sample;
4. the kit with 2 jobs on all submissions (the class-size target);
5. ``--grades-only`` with 2 jobs on all submissions, whose grades must equal those of run 4.

Every run starts from its own copy of the course (fresh gradebook). The floor's kernels get the
same thread settings as the kit's sandboxed kernels (one BLAS/OpenMP thread), so the ratios
measure the kit, not a thread setting. Results: ``bench/results.md`` (and ``results.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

from gradekit.batch.dask_run import autograde_class
from gradekit.nbgrader.course import Course
from synthetic.banks import (
    ALTERNATIVES,
    BUGS,
    NB1,
    NB2,
    NB3,
    Variant,
    release_notebook,
    student_notebook,
)
from synthetic.courses import (
    ASSIGNMENT,
    autograde_with_nbgrader,
    copy_course,
    grades,
    quiet_gradebook,
)

HERE = Path(__file__).resolve().parent
NOTEBOOKS = (NB1, NB2, NB3)
#: One cycle of the synthetic class (20 submissions): 6 correct (other but correct code where
#: the bank has some), 10 with one bug, 2 half done (notebook 3 untouched), 2 empty.
CYCLE = ("correct",) * 6 + ("buggy",) * 10 + ("half",) * 2 + ("empty",) * 2
#: The floor's nbgrader steps: the public checks run in the kernel, the hidden ones are removed.
FLOOR_CONFIG = """
from bench.floor import PublicChecksOnly
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties, CheckCellMetadata, Execute, LimitOutput, SaveAutoGrades,
)
c.Autograde.autograde_preprocessors = [
    PublicChecksOnly, Execute, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
    AssignLatePenalties, CheckCellMetadata,
]
"""
#: What the kit's sandbox gives every kernel; the floor's kernels get it too.
THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


@dataclass(frozen=True)
class Run:
    """One measured run.

    Attributes:
        name: What ran.
        submissions: How many submissions it graded.
        seconds: Wall time.
        busy_seconds: CPU time the whole machine spent meanwhile (all processes, all cores).
    """

    name: str
    submissions: int
    seconds: float
    busy_seconds: float

    @property
    def per_submission(self) -> float:
        return self.seconds / self.submissions

    @property
    def cores_busy(self) -> float:
        """How many cores were busy on average."""
        return self.busy_seconds / self.seconds

    @property
    def cpu_per_submission(self) -> float:
        """CPU seconds of the whole machine per submission."""
        return self.busy_seconds / self.submissions


def machine_busy_seconds() -> float:
    """CPU seconds this machine has run anything since boot (``/proc/stat``: user, nice, system,
    irq and softirq time; not idle, I/O wait or time the hypervisor took)."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = ticks[:7]
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def synthetic_class(count: int) -> Iterator[tuple[str, dict[str, nbformat.NotebookNode]]]:
    """``count`` submissions: student id -> notebook name -> notebook, in :data:`CYCLE` order."""
    correct = [None, *ALTERNATIVES]
    for index in range(count):
        kind = CYCLE[index % len(CYCLE)]
        turn = index // len(CYCLE) * CYCLE.count(kind) + CYCLE[: index % len(CYCLE)].count(kind)
        notebooks: dict[str, nbformat.NotebookNode] = {}
        for name in NOTEBOOKS:
            variant: Variant | None = None
            if kind == "correct":
                variant = correct[turn % len(correct)]
            elif kind == "buggy":
                variant = BUGS[turn % len(BUGS)]
            if kind == "empty" or (kind == "half" and name == NB3):
                notebooks[name] = release_notebook(name)
            elif variant is not None and variant.notebook == name:
                notebooks[name] = student_notebook(variant)
            else:
                notebooks[name] = student_notebook(None, name)
        yield f"s{index:03d}-{kind}", notebooks


def make_course(folder: Path, count: int, config: str = "") -> tuple[Course, list[str]]:
    course = copy_course(folder, students=(), config=config)
    students = []
    for student, notebooks in synthetic_class(count):
        target = course.path("submitted", assignment=ASSIGNMENT, student=student)
        target.mkdir(parents=True)
        for name, nb in notebooks.items():
            nbformat.write(nb, target / f"{name}.ipynb")
        students.append(student)
    return course, students


def timed(name: str, count: int, work: Callable[[], object]) -> Run:
    print(f"{name}: {count} submissions ...", flush=True)
    started, busy = time.monotonic(), machine_busy_seconds()
    work()
    run = Run(name, count, time.monotonic() - started, machine_busy_seconds() - busy)
    print(
        f"  {run.seconds:.0f} s, {run.per_submission:.1f} s per submission, "
        f"{run.cores_busy:.2f} cores busy",
        flush=True,
    )
    return run


def kit(course: Course, *, jobs: int, grades_only: bool = False) -> Callable[[], object]:
    def grade() -> None:
        with quiet_gradebook():
            summary = autograde_class(
                course=course, assignment=ASSIGNMENT, jobs=jobs, grades_only=grades_only, force=True
            )
        assert not summary.failed, [(run.student, run.problems) for run in summary.failed]

    return grade


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--submissions", type=int, default=200, help="class size (runs 4, 5)")
    parser.add_argument("--sample", type=int, default=20, help="submissions of runs 1 to 3")
    parser.add_argument("--out", type=Path, default=HERE / "results.md")
    args = parser.parse_args()
    if args.submissions <= args.sample:
        parser.error("--submissions must exceed --sample: the start-up is fitted from the two")
    os.environ.update(THREADS)
    began = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="gradekit-bench-"))
    try:
        floor_course, sample = make_course(work / "floor", args.sample, FLOOR_CONFIG)
        floor = timed(
            "floor (plain nbgrader, public checks)",
            len(sample),
            lambda: autograde_with_nbgrader(floor_course, sample),
        )
        serial_course, _ = make_course(work / "serial", args.sample)
        serial = timed("kit, 1 job", args.sample, kit(serial_course, jobs=1))
        pair_course, _ = make_course(work / "pair", args.sample)
        pair = timed("kit, 2 jobs", args.sample, kit(pair_course, jobs=2))
        class_course, students = make_course(work / "class", args.submissions)
        whole = timed("kit, 2 jobs, whole class", len(students), kit(class_course, jobs=2))
        full_grades = {student: grades(class_course, student) for student in students}
        quick = timed(
            "kit, 2 jobs, --grades-only, whole class",
            len(students),
            kit(class_course, jobs=2, grades_only=True),
        )
        same = full_grades == {student: grades(class_course, student) for student in students}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results = Results(
        floor=floor, serial=serial, pair=pair, whole=whole, quick=quick, same_grades=same
    )
    write_results(args.out, results, minutes=(time.monotonic() - began) / 60)
    print(f"results: {args.out}")


@dataclass(frozen=True)
class Results:
    """The benchmark's five runs and what follows from them.

    Attributes:
        floor: Plain nbgrader, public checks only, on the sample.
        serial: The kit with 1 job on the sample.
        pair: The kit with 2 jobs on the sample.
        whole: The kit with 2 jobs on the whole class.
        quick: ``--grades-only`` with 2 jobs on the whole class.
        same_grades: Whether ``quick`` stored exactly the grades of ``whole``.
    """

    floor: Run
    serial: Run
    pair: Run
    whole: Run
    quick: Run
    same_grades: bool

    @property
    def runs(self) -> list[Run]:
        return [self.floor, self.serial, self.pair, self.whole, self.quick]

    @property
    def speed_up(self) -> float:
        """How many times faster 2 jobs grade the sample than 1 job."""
        return self.serial.per_submission / self.pair.per_submission

    @property
    def pair_rate(self) -> tuple[float, float]:
        """Start-up seconds and seconds per submission of 2 jobs, fitted to the sample and the
        whole class (the class repeats the sample's mix, so the difference is the start-up)."""
        per_submission = (self.whole.seconds - self.pair.seconds) / (
            self.whole.submissions - self.pair.submissions
        )
        return self.pair.seconds - self.pair.submissions * per_submission, per_submission


def _verdict(met: bool) -> str:
    return "met" if met else "**missed**"


def write_results(path: Path, results: Results, *, minutes: float) -> None:
    """Write ``results.md`` (a table and the targets) and ``results.json`` next to it.

    Args:
        path: The Markdown file.
        results: The measured runs.
        minutes: How long the whole benchmark took (building the courses included).
    """
    floor, serial, pair, whole, quick = results.runs
    cores = os.cpu_count() or 1
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    lines = [
        "# Benchmark: autograding a synthetic class",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} by `make bench` on {cores} cores "
        f"({cpu}), Python {platform.python_version()}, in {minutes:.0f} min. Mix per 20 "
        "submissions: 6 correct, 10 with one bug, 2 half done, 2 empty (from "
        "`synthetic/banks.py`); three notebooks each. *Cores busy*: CPU time of the whole "
        "machine over wall time; *CPU per submission*: that CPU time per submission.",
        "",
        "| run | submissions | total | per submission | vs. floor | cores busy "
        "| CPU per submission |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in results.runs:
        lines.append(
            f"| {run.name} | {run.submissions} | {run.seconds / 60:.1f} min | "
            f"{run.per_submission:.1f} s | {run.per_submission / floor.per_submission:.2f}x | "
            f"{run.cores_busy:.2f} | {run.cpu_per_submission:.1f} s |"
        )
    serial_ratio = serial.per_submission / floor.per_submission
    start_up, rate = results.pair_rate
    lines += [
        "",
        f"- Kit serially vs. the floor: {serial_ratio:.2f}x (target ≤ 1.25x: "
        f"{_verdict(serial_ratio <= 1.25)}).",
        f"- 2 jobs vs. 1 job: {results.speed_up:.2f}x faster (target ≥ 1.8x: "
        f"{_verdict(results.speed_up >= 1.8)}). One job already keeps {serial.cores_busy:.2f} "
        "cores busy (the kernel executes the notebooks while their checks run), so "
        f"{cores} cores allow at most {cores / serial.cores_busy:.2f}x, and only if 2 jobs spent "
        f"no more CPU per submission than 1 job; they spent "
        f"{pair.cpu_per_submission:.1f} s against "
        f"{serial.cpu_per_submission:.1f} s (each worker starts its own fork "
        "servers and check session).",
        f"- Whole class with 2 jobs: {whole.seconds / 60:.1f} min for {whole.submissions} "
        f"(target: 200 in ≤ 45 min: {_verdict(whole.per_submission * 200 <= 2700)}). "
        f"Fitted to the sample and the class: {start_up:.0f} s of start-up, then "
        f"{rate:.2f} s per submission.",
        f"- Grades only with 2 jobs: {quick.per_submission:.1f} s per submission, "
        f"{quick.seconds / 60:.1f} min for {quick.submissions} (targets ≤ 3 s: "
        f"{_verdict(quick.per_submission <= 3)}; 200 in ≤ 5 min: "
        f"{_verdict(quick.per_submission * 200 <= 300)}); grades identical to the full run: "
        f"{'yes' if results.same_grades else '**NO**'}.",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    path.with_suffix(".json").write_text(
        json.dumps(
            {
                "runs": [asdict(run) for run in results.runs],
                "same_grades": results.same_grades,
                "minutes": minutes,
            },
            indent=1,
        ),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
