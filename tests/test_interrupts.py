"""A Ctrl-C whose KeyboardInterrupt is swallowed on its way (in a garbage-collector callback) is not lost."""
import subprocess
import textwrap

from tests.training.conftest import PYTHON, subprocess_env, terminal_sigint

SWALLOWED = textwrap.dedent("""
    import gc, signal
    from zoo import interrupts

    interrupts.install()
    fired = []

    def callback(phase, info):  # as JAX's gc callback would be, when SIGINT lands while it runs
        if not fired:
            fired.append(phase)
            signal.raise_signal(signal.SIGINT)

    gc.callbacks.append(callback)
    gc.collect()
    gc.callbacks.remove(callback)
    print("went on", interrupts.pending() == signal.SIGINT)
    try:
        interrupts.raise_if_pending()
    except KeyboardInterrupt:
        print("raised")
""")


def test_a_sigint_swallowed_in_a_gc_callback_is_still_pending_and_raised_at_the_next_safe_point():
    result = subprocess.run([PYTHON, "-c", SWALLOWED], env=subprocess_env(), capture_output=True,
                            text=True, timeout=60, preexec_fn=terminal_sigint)
    assert result.returncode == 0, result.stderr
    # Python dropped the KeyboardInterrupt and ran on past gc.collect() (this is what lost a Ctrl-C); the
    # signal stayed pending and was raised at the next safe point, and no "Exception ignored" traceback shows.
    assert result.stdout.split() == ["went", "on", "True", "raised"], result.stdout
    assert "Traceback" not in result.stderr, result.stderr


def test_without_the_handler_python_drops_the_interrupt_and_says_so():
    script = SWALLOWED.replace("interrupts.install()", "")
    result = subprocess.run([PYTHON, "-c", script], env=subprocess_env(), capture_output=True, text=True,
                            timeout=60, preexec_fn=terminal_sigint)
    assert result.stdout.split() == ["went", "on", "False"], result.stdout
    assert "Exception ignored" in result.stderr and "KeyboardInterrupt" in result.stderr, result.stderr


def test_install_leaves_an_ignored_sigint_ignored():
    script = ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nfrom zoo import interrupts\n"
              "interrupts.install()\nprint(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)")
    result = subprocess.run([PYTHON, "-c", script], env=subprocess_env(), capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.strip() == "True", result.stderr
