//! How a `qalens` command ends: [`Exit`], whose process exit code scripts and CI read.

use std::process::ExitCode;

/// How a command ended. Each has a fixed exit code: 0 all passed, 1 a scenario failed or a
/// step was undefined, 2 the run could not happen (bad arguments, no Docker, start-up
/// failure), 101 harness crash, 130/143 interrupted by SIGINT/SIGTERM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: every scenario passed, or the command did what it was asked.
    Passed,
    /// 1: a scenario failed or a step was undefined; or what the command checks failed (a
    /// problem in a feature file, a breaking contract change, a run it could not remove).
    Failed,
    /// 2: the run could not happen: bad arguments, no Docker, a start-up failure.
    NotRun,
    /// 101: the harness crashed (a panic); what it started was removed.
    Crashed,
    /// 130 or 143: a signal interrupted the command; what it started was removed.
    Interrupted(Signal),
}

/// The signal that interrupted a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C): exit code 130.
    Interrupt,
    /// SIGTERM: exit code 143.
    Terminate,
}

impl Exit {
    /// [`Exit::Passed`] when `passed`, else [`Exit::Failed`].
    pub(crate) fn passed_if(passed: bool) -> Self {
        if passed { Self::Passed } else { Self::Failed }
    }

    /// The process exit code.
    fn code(self) -> u8 {
        match self {
            Self::Passed => 0,
            Self::Failed => 1,
            Self::NotRun => 2,
            Self::Crashed => 101,
            // 128 plus the signal's number, as shells report it.
            Self::Interrupted(Signal::Interrupt) => 130,
            Self::Interrupted(Signal::Terminate) => 143,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        Self::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exit_keeps_its_documented_code() {
        let codes = [
            (Exit::Passed, 0),
            (Exit::Failed, 1),
            (Exit::NotRun, 2),
            (Exit::Crashed, 101),
            (Exit::Interrupted(Signal::Interrupt), 130),
            (Exit::Interrupted(Signal::Terminate), 143),
        ];
        for (exit, code) in codes {
            assert_eq!(exit.code(), code, "{exit:?}");
        }
        assert_eq!(Exit::passed_if(true), Exit::Passed);
        assert_eq!(Exit::passed_if(false), Exit::Failed);
    }
}
