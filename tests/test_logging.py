"""What zoo leaves on standard error: its warnings as their bare message, whatever else configures logging, and
none of TensorFlow's start-up lines when it imports TensorFlow quietly."""
import logging
import os
import subprocess
import sys

MESSAGE = "warning: 10 of the 500 texts ..."
# The logger of zoo.training.data by name: importing the module would load TensorFlow in the child.
WARN = f"logging.getLogger('zoo.training.data').warning({MESSAGE!r})"


def test_a_warning_stays_its_bare_message_after_a_library_configures_the_root_logger():
    # A fresh interpreter: logging.basicConfig installs a root handler for the whole process, as a library calling
    # logging.warning() does midway through a session (during zoo.train's first run). An application that wants
    # zoo's records in its own logging hands them on, as the README says.
    code = "\n".join(["import logging", "import zoo", WARN, "logging.basicConfig()", WARN,
                      "logging.getLogger('zoo').propagate = True", "logging.getLogger('zoo').handlers.clear()", WARN])
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert child.stderr.splitlines() == [MESSAGE, MESSAGE, f"WARNING:zoo.training.data:{MESSAGE}"]


def test_in_a_test_a_warning_reaches_standard_error_once_and_caplog(capsys, caplog):
    logging.getLogger("zoo.training.data").warning(MESSAGE)
    assert capsys.readouterr().err == MESSAGE + "\n"
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("zoo.training.data", logging.WARNING, MESSAGE)]


def test_tensorflow_imported_quietly_prints_no_start_up_line_and_standard_error_works_after():
    # Without zoo.console.import_tensorflow_quietly the child prints "Could not find cuda drivers ...", "oneDNN
    # custom operations are on ..." and, at its first operation, "failed call to cuInit" (on a machine without GPU).
    code = ("import os\nfrom zoo.console import import_tensorflow_quietly\ntf = import_tensorflow_quietly()\n"
            "tf.constant(1).numpy()\nos.write(2, b'still here\\n')\n")
    env = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True,
                           env=env)
    assert child.stderr == "still here\n"
