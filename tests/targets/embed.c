/* An application that embeds CPython: it is not called python, links the
 * shared libpython, initialises the interpreter itself and runs a script.
 *
 *   embedapp SCRIPT [ARG...]
 *
 * sys.argv is [SCRIPT, ARG...], as if the script had been run by python.
 * The tests build it with gcc against each interpreter's headers and
 * libpython (see tests/integration/test_builds.py).
 */
#include <Python.h>

#include <stdio.h>
#include <stdlib.h>

static void die(const char *what)
{
    fprintf(stderr, "embedapp: %s\n", what);
    exit(3);
}

#if PY_MAJOR_VERSION >= 3 && PY_VERSION_HEX >= 0x03080000

static void start(int argc, char **argv)
{
    PyConfig config;
    PyStatus status;

    PyConfig_InitPythonConfig(&config);
    status = PyConfig_SetBytesString(&config, &config.program_name, argv[0]);
    if (PyStatus_Exception(status))
        die("cannot set the program name");
    /* Only sys.argv: the application runs the file itself, below. */
    config.parse_argv = 0;
    status = PyConfig_SetBytesArgv(&config, argc - 1, argv + 1);
    if (PyStatus_Exception(status))
        die("cannot set sys.argv");
    status = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(status))
        die("cannot initialise Python");
}

#elif PY_MAJOR_VERSION >= 3

static void start(int argc, char **argv)
{
    static wchar_t *wargv[64];
    wchar_t *program = Py_DecodeLocale(argv[0], NULL);
    int i;

    if (!program || argc - 1 > 64)
        die("cannot decode the arguments");
    Py_SetProgramName(program);
    Py_Initialize();
    if (!Py_IsInitialized())
        die("cannot initialise Python");
    for (i = 1; i < argc; i++)
        if (!(wargv[i - 1] = Py_DecodeLocale(argv[i], NULL)))
            die("cannot decode the arguments");
    PySys_SetArgvEx(argc - 1, wargv, 0);
}

#else /* Python 2 */

static void start(int argc, char **argv)
{
    Py_SetProgramName(argv[0]);
    Py_Initialize();
    if (!Py_IsInitialized())
        die("cannot initialise Python");
    PySys_SetArgvEx(argc - 1, argv + 1, 0);
}

#endif

int main(int argc, char **argv)
{
    FILE *script;
    int failed;

    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRIPT [ARG...]\n", argv[0]);
        return 64;
    }
    script = fopen(argv[1], "r");
    if (!script) {
        perror(argv[1]);
        return 66;
    }
    start(argc, argv);
    /* Closes the file; the script's frames carry argv[1] as their file name. */
    failed = PyRun_SimpleFileEx(script, argv[1], 1);
#if PY_MAJOR_VERSION >= 3
    if (Py_FinalizeEx() < 0)
        failed = 1;
#else
    Py_Finalize();
#endif
    return failed ? 1 : 0;
}
