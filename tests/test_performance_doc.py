"""docs/PERFORMANCE.md shows the current benchmark reports, as bench/performance_doc.py writes them,
and no history (commit hashes, "run N"). Reads JSON only: runs no benchmark."""

import importlib.util
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def bench_module(name: str):
    """A module of bench/, which is not a package."""
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


performance_doc = bench_module("performance_doc")
DOC = REPO / "docs" / "PERFORMANCE.md"


def test_doc_matches_the_reports():
    doc = DOC.read_text()
    assert performance_doc.render(doc, performance_doc.load_reports()) == doc, \
        "docs/PERFORMANCE.md is out of date: run python bench/performance_doc.py"


def test_doc_holds_no_history():
    text = DOC.read_text()
    hashes = re.findall(r"\b(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\b", text)
    assert not hashes, f"commit hashes in docs/PERFORMANCE.md: {hashes}"
    runs = re.findall(r"\brun \d", text, flags=re.I)
    assert not runs, f"run numbers in docs/PERFORMANCE.md: {runs}"


def test_encode_row_from_a_synthetic_report():
    report = {
        "n_images": 170000, "image_size": 64, "batch_size": 512, "goal_images_per_s": 1000.0, "meets_goal": True,
        "results": {
            "predict_in_batches_uint8_memmap": {"images_per_s": 2681.7, "seconds_for_all": 63.39,
                                                "ratio_to_baseline": 2.087},
            "baseline_predict_float32_in_memory": {"images_per_s": 1284.9, "n_images": 5000},
        },
        "machine": {"cpu_model": "Intel(R) Xeon(R) Processor", "cpu_count": 2, "speed_probe_gflops": 233.6},
    }
    cells = [c.strip() for c in performance_doc.encode_row(report, "encode_x.json").strip("|").split(" | ")]
    assert cells == [
        "`encode`, 170,000 64x64 images ([encode_x.json](../bench/results/encode_x.json))",
        ">= 1,000 img/s: met",
        "2.09x `predict` on a float32 array (1,285 img/s)",
        "2,682 img/s (63.4 s for the set)",
        "Intel Xeon Processor, 2 cores, GPU not recorded, probe 234 GFLOP/s",
        "`python bench/bench_encode.py --baseline-n 5000 --out bench/results/encode_x.json`",
    ]


def test_number_formatting():
    assert [performance_doc.fmt(x) for x in (2681.7, 170000, 68.94, 0.8489, 4.5e-15)] == \
        ["2,682", "170,000", "68.9", "0.849", "4.5e-15"]
    assert performance_doc.ratio(1.332) == "1.33x"
    assert performance_doc.met(None) == "n/a" and performance_doc.met(False) == "**not met**"


def test_the_machine_cell_names_the_widest_vector_extension():
    widest_vector_extension = bench_module("common").widest_vector_extension
    assert widest_vector_extension({"sse2", "avx", "avx2", "fma", "avx512f", "avx512bw"}) == "AVX-512"
    assert widest_vector_extension({"sse2", "avx", "avx2", "fma"}) == "AVX2"
    assert widest_vector_extension({"sse2", "avx"}) == "AVX"
    assert widest_vector_extension(set()) == "SSE"
    machine = {"cpu_model": "AMD EPYC", "cpu_count": 2, "speed_probe_gflops": 155.2}
    assert performance_doc.machine_cell({**machine, "cpu_vector_extension": "AVX2"}) == \
        "AMD EPYC (AVX2), 2 cores, GPU not recorded, probe 155 GFLOP/s"
    assert performance_doc.machine_cell(machine).startswith("AMD EPYC, 2 cores")  # older reports lack it
