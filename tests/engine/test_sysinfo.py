"""engine.sysinfo: what the engine runs on, and the note when OpenBLAS runs kernels without
AVX-512 on a processor that has it (an environment's OPENBLAS_CORETYPE)."""

import pytest
from cnnstudio.engine import sysinfo

AVX512 = frozenset({"fpu", "sse2", "avx2", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"})
AVX2 = frozenset({"fpu", "sse2", "avx2", "fma"})
HASWELL = [{"library": "openblas", "version": "0.3.31", "kernels": "Haswell", "threads": 2}]


def test_forced_haswell_kernels_on_an_avx512_processor_are_named_with_the_fix():
    note = sysinfo.blas_kernel_note(HASWELL, AVX512, {"OPENBLAS_CORETYPE": "Haswell"})
    assert note is not None
    assert "OPENBLAS_CORETYPE=Haswell" in note and "AVX-512" in note
    assert "without OPENBLAS_CORETYPE" in note and "OPENBLAS_CORETYPE=SkylakeX" in note


def test_kernels_openblas_chose_itself_get_the_softer_note():
    note = sysinfo.blas_kernel_note([dict(HASWELL[0], kernels="Zen")], AVX512, {})
    assert note is not None and "chose its Zen kernels" in note and "OPENBLAS_CORETYPE=SkylakeX" in note


@pytest.mark.parametrize("libraries, flags", [
    (HASWELL, AVX2),                                             # no AVX-512: Haswell is the best there is
    ([dict(HASWELL[0], kernels="SkylakeX")], AVX512),           # already the AVX-512 kernels
    ([dict(HASWELL[0], kernels="SapphireRapids")], AVX512),
    ([{"library": "mkl", "version": "2025", "kernels": "Haswell", "threads": 2}], AVX512),   # not OpenBLAS
    ([], AVX512),                                                # no BLAS found
    (HASWELL, frozenset()),                                      # flags unknown (not Linux)
])
def test_no_note_when_nothing_can_be_gained(libraries, flags):
    assert sysinfo.blas_kernel_note(libraries, flags, {"OPENBLAS_CORETYPE": "Haswell"}) is None


def test_cpu_flags_and_name_from_a_cpuinfo_file(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Some CPU 9000\nflags\t\t: fpu avx2 avx512f\n\n"
                       "processor\t: 1\nflags\t\t: fpu\n")
    assert sysinfo.cpu_flags(str(cpuinfo)) == {"fpu", "avx2", "avx512f"}
    assert sysinfo.cpu_name(str(cpuinfo)) == "Some CPU 9000"
    assert sysinfo.cpu_flags(str(tmp_path / "missing")) == frozenset()


def test_a_huge_cpuinfo_is_read_only_up_to_the_cap(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_bytes(b"x" * (sysinfo.MAX_CPUINFO_BYTES + 10) + b"\nflags : avx512f\n")
    assert sysinfo.cpu_flags(str(cpuinfo)) == frozenset()   # past the cap: not read, not trusted


def test_the_report_names_this_processes_blas_and_numpy():
    import numpy as np

    info = sysinfo.report()
    assert info["numpy"] == np.__version__ and info["cores"] >= 1
    assert any(b["library"] for b in info["blas"])   # NumPy's BLAS is loaded in every test process
    lines = sysinfo.report_lines(info)
    assert lines[0].startswith("cnnstudio ") and any(line.startswith("BLAS: ") for line in lines)
    assert [line for line in lines if line.startswith("note: ")] == [f"note: {n}" for n in info["notes"]]


def test_the_short_hint_names_the_variable_when_the_environment_set_it():
    hint = sysinfo.blas_kernel_hint(HASWELL, AVX512, {"OPENBLAS_CORETYPE": "Haswell"})
    assert hint is not None and "OPENBLAS_CORETYPE=Haswell" in hint and "Help > About" in hint
    assert len(hint) < 120   # one status-bar line at 1280 px
    chosen = sysinfo.blas_kernel_hint([dict(HASWELL[0], kernels="Zen")], AVX512, {})
    assert chosen is not None and "OpenBLAS leaves" in chosen and len(chosen) < 120
    assert sysinfo.blas_kernel_hint(HASWELL, AVX2, {"OPENBLAS_CORETYPE": "Haswell"}) is None
