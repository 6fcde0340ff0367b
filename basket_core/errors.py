"""The two kinds of mistakes a user can fix, as the CLI reports them: a bad option or
setting (exit status 2) and bad input data (exit status 1). Each message names the file,
row, field or option."""


class InputError(ValueError):
    """A problem with the input that the user can fix; the message says what and where."""


class OptionError(ValueError):
    """An option or setting with a value the pipeline cannot run with."""
