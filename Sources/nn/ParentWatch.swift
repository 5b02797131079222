import Foundation
import NNTune
#if canImport(Glibc)
import Glibc
#endif
#if canImport(CLinux)
import CLinux
#endif

/// Makes an `nn train` started as a tuner's trial die with its tuner.
///
/// A SIGKILLed tuner cannot stop its workers, and orphaned workers (PPID 1) would run on unwatched:
/// no `--trial-timeout`, no pruning, and a resumed study would run a second attempt of the same
/// trial beside them. So a trial asks the kernel for SIGKILL when its parent dies
/// (`PR_SET_PDEATHSIG`), then checks that its parent is still the tuner that started it: a tuner
/// that died before the request was made would otherwise never trigger it.
enum ParentWatch {
    /// Called first thing in `nn train`; does nothing unless the tuner's variables are set.
    static func dieWithTuner(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard environment[WorkerEnvironment.trial] != nil,
              let text = environment[WorkerEnvironment.tunerPID], let tuner = pid_t(text) else { return }
        #if os(Linux)
        guard requestParentDeathSignal(SIGKILL) else {
            Terminal.printError("nn: warning: cannot ask to stop with the tuner (prctl failed: \(String(cString: strerror(errno))))")
            return
        }
        #endif
        guard getppid() == tuner else {
            Terminal.printError("nn: the tuner (pid \(tuner)) that started this trial has already exited; not training")
            exit(CommandFailure.dataOrModel)
        }
    }

    #if os(Linux)
    private static func requestParentDeathSignal(_ signal: Int32) -> Bool {
        nn_set_parent_death_signal(signal) == 0
    }
    #endif
}
