"""The kinds of problems a user can fix, as the CLI reports them: a bad option or setting
(exit status 2), bad input data and a service that does not answer (exit status 1). Each
message names the file, row, field, option or address."""


class InputError(ValueError):
    """A problem with the input that the user can fix; the message says what and where."""


class OptionError(ValueError):
    """An option or setting with a value the pipeline cannot run with."""


class ServiceUnavailable(RuntimeError):
    """A server the settings name (a Spark Connect server, a broker) does not answer."""
