import ArgumentParser
import Foundation
import NNBackends
import NNCore
import NNData
import NNDistributed
import NNTrain

/// `nn train`: fits a network and writes checkpoints, metrics and a learning curve.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a dense network (default: the Fashion-MNIST recipe 784-512-256-10, batch norm, ReLU, Adam 1e-3 cosine-annealed over 10 epochs).",
        discussion: """
            Writes into --out: metrics.jsonl (one JSON object per epoch), learning-curve.svg, a checkpoint per \
            epoch (epoch-001/, …) and the best one by dev metric (best/). Each checkpoint is model.safetensors \
            (PyTorch nn.Sequential state dict; the module is in its 'pytorch_module' metadata) plus \
            training-state.safetensors (optimiser moments and run state). A run stopped mid-epoch by --max-steps \
            also leaves partial/. history.jsonl records every start, resume and rollback.

            Babysitting a run: --resume DIR continues it from its latest checkpoint exactly as if it had never \
            stopped (same backend: bit for bit); --from-epoch K rolls back to epoch K (what came after moves to \
            DIR/superseded/); --set KEY=VALUE changes a hyperparameter from there on (lr, batch, l2, l1, keep, decay, \
            decay-rate, decay-interval, decay-k, momentum, beta1, beta2, epsilon, epochs, patience, bayes-error).
            """)

    // MARK: Data
    // Numeric options parse `.unconditional`ly: "--lr -1" is a (bad) learning rate, refused by
    // validate() with its range, not a missing value followed by an unknown flag "-1".

    @Option(help: ArgumentHelp("fashion-mnist, mnist, digits, or a path (.csv, .npy, .npz, IDX file or folder).", valueName: "name|path"))
    var data: String = NamedDataset.fashionMNIST.rawValue

    @Option(name: .customLong("test-data"), help: ArgumentHelp("A separate test file in the format of --data.", valueName: "path"))
    var testData: String?

    @OptionGroup(title: "Data reading")
    var reading: DataReadingOptions

    @Option(name: .customLong("dev-size"), parsing: .unconditional,
            help: ArgumentHelp("Dev set carved from the training set: a count (5000) or a fraction (0.1, 10%); 0 for none.", valueName: "size"))
    var devSize: DevSize = .fraction(Self.recipe.devFraction)

    @Option(name: .customLong("split-seed"), parsing: .unconditional, help: ArgumentHelp("Seed of the train/dev split and of --train-size's draw (kept apart from --seed so runs share one dev set).", valueName: "n"))
    var splitSeed: UInt64 = Self.recipe.splitSeed

    // DevSize because it parses the same way (count, fraction or percentage); here a fraction is of what the dev split leaves.
    @Option(name: .customLong("train-size"), parsing: .unconditional,
            help: ArgumentHelp("Train on a random subset of the training set, drawn after the dev split (which stays the same) "
                + "and seeded by --split-seed: a count (10000) or a fraction (0.2, 20%) of what the dev split leaves; default: all of it.",
                valueName: "size"))
    var trainSize: DevSize?

    // MARK: Model

    @Option(help: ArgumentHelp("Hidden layer sizes, comma-separated ('none' for softmax regression).", valueName: "sizes"))
    var layers: HiddenLayers = HiddenLayers(Self.recipe.hiddenLayers)

    @Flag(inversion: .prefixedNo, help: "Batch normalisation after each hidden dense layer.")
    var batchnorm: Bool = Self.recipe.batchNorm

    @Option(parsing: .unconditional, help: ArgumentHelp("Dropout KEEP probability after each hidden activation (the course's keep_prob; 1 = no dropout).", valueName: "keep"))
    var dropout: Float = Self.recipe.keepProbability

    @Option(help: "Hidden-layer activation.")
    var activation: Activation = Self.recipe.activation

    @Option(name: .customLong("weight-init"), help: "Weight initialisation (default: he for relu, xavier otherwise).")
    var weightInit: WeightInit?

    @Option(help: "Output head: softmax over all classes, or sigmoid (logistic regression, 2 classes only).")
    var head: ClassifierHead = Self.recipe.head

    @Option(name: .customLong("bn-beta"), parsing: .unconditional, help: ArgumentHelp("Batch-norm running-average β (= 1 − PyTorch momentum).", valueName: "beta"))
    var batchNormBeta: Float = Self.recipe.batchNormBeta

    @Option(help: ArgumentHelp(
        "Input standardisation fitted on the training set: per-feature (the course's μ_j, σ_j), global (one μ, σ for all "
            + "features, for pixels), or none. auto: global for images (the built-in sets, IDX files, arrays of rank ≥ 3), "
            + "per-feature otherwise.", valueName: "mode"))
    var normalize: NormalizationName = .auto

    @Option(name: .customLong("init"), help: ArgumentHelp("Start from the weights of a checkpoint (nn's, or a PyTorch state dict in safetensors).", valueName: "file"))
    var initFrom: String?

    // MARK: Optimisation

    @Option(help: "Optimiser.")
    var optimizer: OptimizerName = OptimizerName(Self.recipe.config.optimizer)

    @Option(name: .customLong("lr"), parsing: .unconditional, help: ArgumentHelp("Initial learning rate α₀.", valueName: "alpha"))
    var learningRate: Float = Self.recipe.config.learningRate

    @Option(parsing: .unconditional, help: ArgumentHelp("Momentum β (optimizer momentum).", valueName: "beta"))
    var momentum: Float = Self.recipe.momentumBeta

    @Option(parsing: .unconditional, help: ArgumentHelp("Adam β₁.", valueName: "beta"))
    var beta1: Float = Self.recipeAdam.beta1

    @Option(parsing: .unconditional, help: ArgumentHelp("Adam β₂, and RMSprop's β.", valueName: "beta"))
    var beta2: Float = Self.recipeAdam.beta2

    @Option(parsing: .unconditional, help: ArgumentHelp("ε of Adam and RMSprop.", valueName: "eps"))
    var epsilon: Float = Self.recipeAdam.epsilon

    @Option(parsing: .unconditional, help: ArgumentHelp("L2 regularisation λ (cost + λ/2m·Σ‖W‖²).", valueName: "lambda"))
    var l2: Float = Self.recipe.config.regularization.l2

    @Option(parsing: .unconditional, help: ArgumentHelp("L1 regularisation λ (cost + λ/m·Σ|w|).", valueName: "lambda"))
    var l1: Float = Self.recipe.config.regularization.l1

    @Option(help: "Learning-rate schedule over epochs (cosine: α₀·½(1 + cos(π·epoch/epochs)), annealed over the whole run).")
    var schedule: ScheduleName = ScheduleName(Self.recipe.config.schedule)

    @Option(parsing: .unconditional, help: ArgumentHelp("Decay for inverse-time and staircase: α₀/(1 + decay·epoch).", valueName: "d"))
    var decay: Double = Self.scheduleDefaults.decay

    @Option(name: .customLong("decay-rate"), parsing: .unconditional, help: ArgumentHelp("Factor for exponential (α₀·rate^epoch) and step schedules.", valueName: "r"))
    var decayRate: Double = Self.scheduleDefaults.rate

    @Option(name: .customLong("decay-interval"), parsing: .unconditional, help: ArgumentHelp("Epochs per stair for staircase and step schedules.", valueName: "epochs"))
    var decayInterval: Int = Self.scheduleDefaults.interval

    @Option(name: .customLong("decay-k"), parsing: .unconditional, help: ArgumentHelp("k of the inverse-sqrt schedule α₀·k/√epoch.", valueName: "k"))
    var decayK: Double = Self.scheduleDefaults.k

    @Option(parsing: .unconditional, help: ArgumentHelp("Mini-batch size.", valueName: "n"))
    var batch: Int = Self.recipe.config.batchSize

    @Option(parsing: .unconditional, help: ArgumentHelp("Epochs.", valueName: "n"))
    var epochs: Int = Self.recipe.config.epochs

    @Option(name: .customLong("max-steps"), parsing: .unconditional, help: ArgumentHelp("Stop after this many optimisation steps.", valueName: "n"))
    var maxSteps: Int?

    @Flag(name: .customLong("no-shuffle"), help: "Keep the file order instead of reshuffling every epoch.")
    var noShuffle: Bool = !Self.recipe.config.shuffle

    @Option(parsing: .unconditional, help: ArgumentHelp("Early stopping: epochs without dev improvement before stopping (0 = off); restores the best weights.", valueName: "epochs"))
    var patience: Int = Self.recipe.config.earlyStopping?.patience ?? 0

    @Option(name: .customLong("early-stopping-metric"), help: "Dev metric watched by early stopping and used to pick best/.")
    var earlyStoppingMetric: DevMetricName = DevMetricName(Self.recipe.earlyStoppingMetric)

    @Option(name: .customLong("bayes-error"), parsing: .unconditional, help: ArgumentHelp("Achievable error (e.g. human level) for the bias/variance reading.", valueName: "fraction"))
    var bayesError: Double = Self.recipe.config.bayesError

    @Option(parsing: .unconditional, help: ArgumentHelp("Seed of initialisation, shuffling and dropout.", valueName: "n"))
    var seed: UInt64 = Self.recipe.config.seed

    // MARK: Run

    @Option(help: backendHelp, transform: parseBackendRequest)
    var backend: BackendRequest?

    @Option(help: ArgumentHelp("Output folder for checkpoints, metrics and the learning curve (default: runs/<date>-<time>). "
        + "A folder that holds another run is refused unless --overwrite is given.", valueName: "dir"))
    var out: String?

    @Flag(help: "Replace the run already in --out (its run files are deleted once the new run has started).")
    var overwrite: Bool = false

    // MARK: Data parallel (under mpirun)

    @Flag(name: .customLong("sync-batchnorm"), help: ArgumentHelp(
        "Under mpirun: batch-norm statistics over the whole global batch (PyTorch SyncBatchNorm), so N ranks train "
            + "as one process does; default: each rank normalises with its own shard (PyTorch DDP's default, no extra "
            + "communication)."))
    var syncBatchNorm: Bool = false

    @Option(name: .customLong("bucket-kib"), parsing: .unconditional, help: ArgumentHelp(
        "Under mpirun: gradient allreduce bucket size in KiB; a full bucket is reduced while backward goes on "
            + "(0: one allreduce after backward).", valueName: "kib"))
    var bucketKiB: Int = Self.defaultBucketKiB
    static let defaultBucketKiB = DataParallel.defaultBucketCapacity * 4 / 1024

    @Flag(help: "End with one machine-readable JSON line on stdout (everything else goes to stderr).")
    var json: Bool = false

    @Flag(name: .customLong("no-progress"), help: "No progress bar, even on a terminal.")
    var noProgress: Bool = false

    // MARK: Resume

    @Option(help: ArgumentHelp("Continue the run in this --out folder from its latest checkpoint, with its own settings.", valueName: "dir"))
    var resume: String?

    @Option(name: .customLong("from-epoch"), parsing: .unconditional, help: ArgumentHelp("With --resume: roll back to epoch K's checkpoint (later ones move to DIR/superseded/).", valueName: "K"))
    var fromEpoch: Int?

    @Option(name: .customLong("set"), help: ArgumentHelp(
        "With --resume: change a hyperparameter from here on, e.g. --set lr=3e-4 (repeatable; a hyperparameter flag such as "
            + "--lr 3e-4 does the same). lr sets the schedule's α₀, the rate it starts from, so the next epoch runs at the "
            + "schedule's rate for it (cosine: below α₀).", valueName: "key=value"))
    var sets: [String] = []

    func validate() throws {
        guard dropout > 0, dropout <= 1 else {
            throw ValidationError("--dropout \(dropout) is a keep probability and must lie in (0, 1] (e.g. 0.8 keeps 80 % of units)")
        }
        guard learningRate >= 0, learningRate.isFinite else { throw ValidationError("--lr \(learningRate) must be a finite number ≥ 0") }
        guard batch >= 1 else { throw ValidationError("--batch \(batch) must be at least 1") }
        guard epochs >= 1 else { throw ValidationError("--epochs \(epochs) must be at least 1") }
        guard l2 >= 0, l1 >= 0 else { throw ValidationError("--l2 and --l1 must be ≥ 0") }
        guard patience >= 0 else { throw ValidationError("--patience \(patience) must be ≥ 0 (0 turns early stopping off)") }
        if let maxSteps, maxSteps < 1 { throw ValidationError("--max-steps \(maxSteps) must be at least 1") }
        for (flag, beta) in [("--momentum", momentum), ("--beta1", beta1), ("--beta2", beta2), ("--bn-beta", batchNormBeta)] {
            guard beta >= 0, beta < 1 else { throw ValidationError("\(flag) \(beta) must lie in [0, 1)") }
        }
        guard bucketKiB >= 0, bucketKiB <= 1 << 20 else {
            throw ValidationError("--bucket-kib \(bucketKiB) must lie in 0…\(1 << 20) (0: one bucket after backward)")
        }
        guard epsilon > 0 else { throw ValidationError("--epsilon \(epsilon) must be > 0") }
        guard (0..<1).contains(bayesError) else { throw ValidationError("--bayes-error \(bayesError) must lie in [0, 1)") }
        if case .count(0)? = trainSize {
            throw ValidationError("--train-size 0 leaves nothing to train on; give a count ≥ 1 or a fraction, or drop it to use the whole training set")
        }
        if head == .sigmoid, let classes = reading.classes, classes != 2 {
            throw ValidationError("--head sigmoid is binary but --classes is \(classes); use --head softmax")
        }
        if resume == nil {
            if fromEpoch != nil { throw ValidationError("--from-epoch rolls back a run; use it with --resume DIR") }
            if !sets.isEmpty { throw ValidationError("--set changes a resumed run; use it with --resume DIR (a new run takes the flags, e.g. --lr)") }
        } else {
            if let fromEpoch, fromEpoch < 1 { throw ValidationError("--from-epoch \(fromEpoch) must be at least 1") }
            if out != nil { throw ValidationError("--out: a resumed run writes into its --resume folder; drop --out") }
            if overwrite { throw ValidationError("--overwrite replaces a run; it cannot be given with --resume, which continues one") }
        }
    }

    // MARK: Translation to the library's types

    /// The defaults of every flag that shapes the run come from the library's recipe, so `nn train`
    /// and `TrainingConfig.recommended` are one recipe (RecipeTests checks they stay equal).
    static let recipe = TrainingRecipe.standard

    /// The recipe's Adam hyperparameters (also the defaults of --beta2/--epsilon for RMSprop).
    static let recipeAdam: (beta1: Float, beta2: Float, epsilon: Float) = {
        if case let .adam(beta1, beta2, epsilon) = recipe.config.optimizer { return (beta1, beta2, epsilon) }
        return (0.9, 0.999, 1e-8)
    }()

    /// The defaults of the schedules' own flags (the recipe's cosine schedule takes none).
    static let scheduleDefaults: (decay: Double, rate: Double, interval: Int, k: Double) = (1, 0.95, 1, 1)

    /// A flag that only some optimisers, schedules or networks read.
    struct ConditionalFlag: Sendable {
        let flag: String
        /// Whether a command sets it away from its default.
        let isChanged: @Sendable (TrainCommand) -> Bool
        /// What reads it, for messages ("--optimizer momentum").
        let readBy: String
        /// Whether a run with this optimiser, schedule and batch norm (or not) reads it.
        let reads: @Sendable (OptimizerName, ScheduleName, Bool) -> Bool
    }

    static let conditionalFlags: [ConditionalFlag] = {
        let adam = recipeAdam, schedules = scheduleDefaults
        let adamOrRMSprop: @Sendable (OptimizerName, ScheduleName, Bool) -> Bool = { optimizer, _, _ in optimizer == .adam || optimizer == .rmsprop }
        return [
            ConditionalFlag(flag: "--momentum", isChanged: { $0.momentum != recipe.momentumBeta }, readBy: "--optimizer momentum") { o, _, _ in o == .momentum },
            ConditionalFlag(flag: "--beta1", isChanged: { $0.beta1 != adam.beta1 }, readBy: "--optimizer adam") { o, _, _ in o == .adam },
            ConditionalFlag(flag: "--beta2", isChanged: { $0.beta2 != adam.beta2 }, readBy: "--optimizer adam or rmsprop", reads: adamOrRMSprop),
            ConditionalFlag(flag: "--epsilon", isChanged: { $0.epsilon != adam.epsilon }, readBy: "--optimizer adam or rmsprop", reads: adamOrRMSprop),
            ConditionalFlag(flag: "--decay", isChanged: { $0.decay != schedules.decay }, readBy: "--schedule inverse-time or staircase") { _, s, _ in
                s == .inverseTime || s == .staircase
            },
            ConditionalFlag(flag: "--decay-rate", isChanged: { $0.decayRate != schedules.rate }, readBy: "--schedule exponential or step") { _, s, _ in
                s == .exponential || s == .step
            },
            ConditionalFlag(flag: "--decay-interval", isChanged: { $0.decayInterval != schedules.interval }, readBy: "--schedule staircase or step") {
                _, s, _ in s == .staircase || s == .step
            },
            ConditionalFlag(flag: "--decay-k", isChanged: { $0.decayK != schedules.k }, readBy: "--schedule inverse-sqrt") { _, s, _ in s == .inverseSqrt },
            ConditionalFlag(flag: "--bn-beta", isChanged: { $0.batchNormBeta != recipe.batchNormBeta }, readBy: "--batchnorm") { _, _, batchnorm in
                batchnorm
            },
        ]
    }()

    /// The conditional flags this run's optimiser, schedule and batch norm (or its absence) do not read.
    var conditionalFlagsNotRead: [ConditionalFlag] {
        Self.conditionalFlags.filter { !$0.reads(optimizer, schedule, batchnorm) }
    }

    /// Flags set away from their defaults that the chosen optimiser, schedule or layers never read:
    /// `--momentum 0.8` beside the default Adam would otherwise look as if it had taken effect. A
    /// warning, not an error, so that a tuner searching the optimiser with its flags still runs its
    /// trials (`nn tune` refuses a space whose flags no trial reads).
    func unreadFlagsWarning() -> String? {
        let unread = conditionalFlagsNotRead.filter { $0.isChanged(self) }
        guard !unread.isEmpty else { return nil }
        return unread.map { "\($0.flag) has no effect without \($0.readBy)" }.joined(separator: "; ")
            + " (this run: --optimizer \(optimizer.rawValue), --schedule \(schedule.rawValue)\(batchnorm ? "" : ", no batch norm"))"
    }

    /// `arguments` without the flags (and their values) that a run with these arguments would not
    /// read, so that a command printed for the user to copy, such as `nn tune`'s reproduction of its
    /// best trial, does not draw the warning above. Arguments that do not parse are returned as given.
    static func removingUnreadFlags(_ arguments: [String]) -> [String] {
        guard let command = try? TrainCommand.parse(arguments) else { return arguments }
        let unread = Set(command.conditionalFlagsNotRead.map(\.flag))
        var kept: [String] = [], index = 0
        while index < arguments.count {
            let word = arguments[index]
            if unread.contains(word) {
                index += 2   // "--momentum 0.8"
                continue
            }
            if let equals = word.firstIndex(of: "="), unread.contains(String(word[..<equals])) {
                index += 1   // "--momentum=0.8"
                continue
            }
            kept.append(word)
            index += 1
        }
        return kept
    }

    func makeSpec(inputWidth: Int, classes: Int) throws -> NetworkSpec {
        var recipe = Self.recipe
        recipe.hiddenLayers = layers.sizes
        recipe.activation = activation
        recipe.batchNorm = batchnorm
        recipe.batchNormBeta = batchNormBeta
        recipe.keepProbability = dropout
        recipe.weightInit = weightInit
        recipe.head = head
        return try recipe.networkSpec(inputWidth: inputWidth, classes: classes)
    }

    /// The library's recipe with this command's flags applied (with no flags: exactly the recipe).
    func makeConfig(hasDev: Bool, data: DataSplits) throws -> TrainingConfig {
        try makeConfig(hasDev: hasDev, normalization: normalize.resolved(for: data))
    }

    func makeConfig(hasDev: Bool, normalization: InputNormalization) throws -> TrainingConfig {
        var config = TrainingConfig.recommended(normalization: normalization)
        config.epochs = epochs
        config.batchSize = batch
        config.learningRate = learningRate
        config.seed = seed
        config.shuffle = !noShuffle
        config.maxSteps = maxSteps
        config.bayesError = bayesError
        switch optimizer {
        case .sgd: config.optimizer = .sgd
        case .momentum: config.optimizer = .momentum(beta: momentum)
        case .rmsprop: config.optimizer = .rmsprop(beta: beta2, epsilon: epsilon)
        case .adam: config.optimizer = .adam(beta1: beta1, beta2: beta2, epsilon: epsilon)
        }
        switch schedule {
        case .constant: config.schedule = .constant
        case .inverseTime: config.schedule = .inverseTime(decay: decay)
        case .exponential: config.schedule = .exponential(rate: decayRate)
        case .staircase: config.schedule = .staircase(decay: decay, interval: decayInterval)
        case .step: config.schedule = .step(factor: decayRate, interval: decayInterval)
        case .inverseSqrt: config.schedule = .inverseSqrt(k: decayK)
        case .cosine: config.schedule = .cosine
        }
        config.regularization = try Regularization(l2: l2, l1: l1)
        if patience > 0 {
            guard hasDev else {
                throw CommandFailure.usage("--patience needs a dev set to watch; set --dev-size above 0")
            }
            config.earlyStopping = EarlyStopping(metric: earlyStoppingMetric.metric, patience: patience)
        }
        try config.validate()
        return config
    }

    // MARK: Run

    func run() throws {
        ParentWatch.dieWithTuner()
        let communicator = try DistributedLaunch.communicator()
        defer { DistributedLaunch.finish(communicator) }
        do {
            try run(communicator)
        } catch let error as DistributedError {
            guard case .mismatch = error, communicator.size > 1 else { throw error }
            // Every rank found the same mismatch in the same collective. mpirun stops the other ranks
            // as soon as one exits non-zero, so each says why before any exits: print, then wait for
            // the others at a barrier (which they all reach; a rank that never does is the watchdog's).
            _ = NNTool.report(error)
            try? communicator.barrier()
            throw CommandFailure.alreadyReported
        }
    }

    private func run(_ communicator: any Communicator) throws {
        // Only rank 0 owns the run folder: it locks, checks and writes it; the other ranks only read
        // (the data, and on --resume the checkpoint, which must be visible to every host).
        let owner = communicator.isRoot
        guard let resume else {
            var command = self
            // Every rank needs the same name for the log; a folder chosen by time could differ between ranks.
            let folder = out ?? (communicator.size > 1 ? nil : OutputFolder.fresh())
            guard let folder else {
                throw CommandFailure.usage("under mpirun, give --out DIR (a folder named after the start time could differ between ranks)")
            }
            command.out = folder
            // An existing folder is locked before it is checked, so a run started beside a live one
            // is told who holds it; a new folder is created and locked once the run is ready to write.
            let lock = owner && FileManager.default.fileExists(atPath: folder) ? try OutputFolder.lock(folder) : nil
            if owner { try OutputFolder.checkForNewRun(folder, overwrite: overwrite) }
            return try command.execute(resume: nil, outWasChosen: out == nil, lock: lock, communicator: communicator)
        }
        let lock = owner && FileManager.default.fileExists(atPath: resume) ? try OutputFolder.lock(resume, option: "--resume") : nil
        // Before the plan: a kill can leave a complete checkpoint under its temporary name, which
        // this puts in place, and the plan must continue from it. Planned first, a newer epoch-NNN/
        // appeared after the plan had dropped that epoch's metrics row, and a second kill before the
        // epoch was trained again left its checkpoint without its row for good.
        let leftovers = owner ? OutputFolder.removeLeftovers(in: resume) : []
        let plan = try ResumePlan(directory: resume, fromEpoch: fromEpoch, sets: try setsForResume(resume))
        var command = plan.command
        command.backend = backend
        command.out = resume
        command.json = json
        command.noProgress = noProgress
        command.maxSteps = maxSteps
        // How the run is spread over processes is not part of the model: a resume may change it.
        command.syncBatchNorm = syncBatchNorm
        command.bucketKiB = bucketKiB
        try command.execute(resume: plan, lock: lock, removedLeftovers: leftovers, communicator: communicator)
    }

    /// The `--set` requests of a resumed run: every hyperparameter flag given on the command line
    /// (also one equal to its default) as a `--set`, then the `--set`s themselves; a flag that defines
    /// the run (data, architecture, optimizer, seed, …) is refused. Nothing given is dropped.
    func setsForResume(_ resume: String) throws -> [String] {
        let values = RunSettings(self).values
        let defaults = RunSettings(try TrainCommand.parse([]))
        // Flags spelled on the command line, and (for a command parsed in-process) settings that
        // differ from their defaults.
        var given = Self.settingFlags(in: Array(CommandLine.arguments.dropFirst()))
        for key in RunSettings(self).differences(from: defaults) where !given.contains(key) { given.append(key) }
        var translated: [String] = []
        var refused: [String] = []
        for key in given {
            if RunSettings.changeable[key] != nil, let value = values[key] {
                translated.append("\(key)=\(value)")
            } else {
                refused.append(key == "batchnorm" && values[key] == "false" ? "--no-batchnorm" : key == "shuffle" ? "--no-shuffle" : "--\(key)")
            }
        }
        guard refused.isEmpty else {
            throw CommandFailure.usage(
                "--resume continues \(resume) with the data, architecture and settings it was trained with; "
                    + "\(refused.joined(separator: ", ")) cannot be given with it. Hyperparameters that may change are given as flags "
                    + "or with --set KEY=VALUE: \(RunSettings.changeableList)")
        }
        return translated + sets
    }

    /// The settings named by `--flag`, `--flag=value` and `--no-flag` tokens before a `--`, as
    /// settings keys ("lr", "batchnorm"), in order.
    static func settingFlags(in arguments: [String]) -> [String] {
        let keys = RunSettings.known
        var found: [String] = []
        for token in arguments.prefix(while: { $0 != "--" }) where token.hasPrefix("--") {
            var name = String(token.dropFirst(2).prefix { $0 != "=" })
            if name == "no-batchnorm" { name = "batchnorm" }
            if name == "no-shuffle" { name = "shuffle" }
            if keys.contains(name), !found.contains(name) { found.append(name) }
        }
        return found
    }

    /// Trains a new run, or continues the one `resume` describes (self is then its resumed command).
    /// `outWasChosen`: `--out` was not given, so the folder was picked here and the log says so.
    /// - Parameter lock: the `--out` folder's lock when it was taken already (the folder existed).
    /// `removedLeftovers`: what ``OutputFolder/removeLeftovers(in:)`` removed before a resume was
    /// planned, for the log line; nil when the folder has not been cleaned yet (a new run).
    func execute(resume plan: ResumePlan?, outWasChosen: Bool = false, lock: FileLock? = nil, removedLeftovers: [String]? = nil,
                 communicator: any Communicator = SingleProcessCommunicator()) throws {
        var runLock = lock
        defer { withExtendedLifetime(runLock) {} }
        let started = Date()
        let toStandardError = json
        let isRoot = communicator.isRoot
        // Ranks other than 0 train silently and write nothing: no run folder, no metrics, no plots.
        let out = isRoot ? self.out : nil
        let log: (String) -> Void = { line in
            guard isRoot else { return }
            if toStandardError { Terminal.printError(line) } else { Terminal.printLine(line) }
        }

        let splits = try DataLoader.load(data, options: reading.loadOptions(testPath: testData))
        if head == .sigmoid, splits.train.classes != 2 {
            throw CommandFailure.usage("--head sigmoid is binary but \(splits.train.name) has \(splits.train.classes) classes; use --head softmax")
        }
        let devCount = devSize.count(of: splits.train.count)
        guard devCount < splits.train.count else {
            throw CommandFailure.usage("--dev-size \(devSize) leaves no training samples out of \(splits.train.count)")
        }
        // Rows first, samples once: with --train-size only the drawn rows are copied, not the whole
        // training part first (for 10k of Fashion-MNIST's 54k, 138 MB less to copy at every start).
        // nil keeps every row in file order, with nothing copied.
        var trainRows: [Int]?
        var dev: Dataset?
        if devCount > 0 {
            let parts = try splits.train.splitRows(devCount: devCount, seed: splitSeed)
            trainRows = parts.train
            dev = try splits.train.subset(rows: parts.dev, name: splits.train.name.replacingOccurrences(of: " train", with: "") + " dev")
        }
        let available = trainRows?.count ?? splits.train.count
        if let trainSize {
            trainRows = try Self.drawTrainingSubset(of: trainRows ?? Array(0..<splits.train.count), size: trainSize, seed: splitSeed)
        }
        let train = try trainRows.map { try splits.train.subset(rows: $0) } ?? splits.train
        let classes = max(train.classes, splits.test?.classes ?? 0)
        if plan == nil, let warning = Self.unusedClassesWarning(train, classes: classes) { log("warning: \(warning)") }
        // Also on a resume, whose settings (with its --set changes) this command now holds.
        if let warning = unreadFlagsWarning() { log("warning: \(warning)") }
        if communicator.size == 1, syncBatchNorm || bucketKiB != Self.defaultBucketKiB {
            log("warning: --sync-batchnorm and --bucket-kib act under mpirun only; this run is one process")
        }
        let spec = try makeSpec(inputWidth: train.width, classes: classes)
        let config = try makeConfig(hasDev: dev != nil, data: splits)

        let backend = try BackendFactory.make(backend, localRank: communicator.size > 1 ? communicator.localRank : nil)
        let network = try Network(spec: spec, backend: backend, seed: seed)
        if let plan {
            try plan.checkArchitecture(spec)
            try network.load(namedTensors: plan.checkpoint.model.tensors, source: "\(plan.directory)/\(plan.checkpoint.name)")
            network.normalizer = plan.checkpoint.model.normalizer
        } else if let initFrom {
            if let weightInit {
                log("warning: --weight-init \(weightInit.rawValue) has no effect beside --init: the weights come from \(initFrom)")
            }
            if let normalizer = try ModelCheckpoint.loadWeights(into: network, from: initFrom) {
                network.normalizer = normalizer  // the weights were trained on inputs scaled this way
                if normalize != .auto {
                    log("warning: --normalize \(normalize.rawValue) gives way to the normaliser saved with --init \(initFrom), "
                        + "which its weights were trained with")
                }
            }
        }
        let parallel = DataParallel(communicator: communicator, syncBatchNorm: syncBatchNorm,
                                    bucketCapacity: bucketKiB * 1024 / MemoryLayout<Float>.size)
        let trainer = try Trainer(network: network, config: config, parallel: parallel)
        if let plan {
            try trainer.restore(state: plan.checkpoint.state, tensors: plan.checkpoint.tensors)
        }

        let trainCount = train.count == available ? "\(train.count)" : "\(train.count) of \(available)"
        log("nn train: \(train.name) \(trainCount) samples, dev \(dev?.count ?? 0), test \(splits.test?.count ?? 0); "
            + "\(network.describeArchitecture()), \(network.parameterCount) parameters")
        let inputs = network.normalizer != nil ? "the checkpoint's normaliser" : Self.describe(config.inputNormalization)
        log("backend: \(backend.name) (\(backend.deviceDescription)); \(config.optimizer.name) lr \(learningRate) \(schedule.rawValue), "
            + "batch \(batch), \(epochs) epochs, seed \(seed); inputs: \(inputs)")
        if communicator.size > 1 {
            let shard = BatchShard(globalCount: batch, rank: communicator.size - 1, size: communicator.size)
            log("data parallel: \(communicator.transportDescription); each rank trains on \(shard.count)"
                + "\(batch % communicator.size == 0 ? "" : "–\(shard.count + 1)") rows of each batch of \(batch); batch norm "
                + "\(network.spec.hasBatchNorm ? (syncBatchNorm ? "synchronised across ranks" : "per rank (--sync-batchnorm for global statistics)") : "not used"); "
                + "gradient buckets \(bucketKiB) KiB")
        }

        // Ranks that disagree (data, flags, model) fail here, before rank 0 creates anything in --out.
        if communicator.size > 1 { try trainer.prepareToFit(train: train, dev: dev) }

        // The live history: epochs the restored state already holds, then this call's.
        var history: [EpochMetrics] = trainer.state.history
        var bestTracker = BestEpochTracker(metric: earlyStoppingMetric.metric)
        for m in history { _ = bestTracker.consider(m) }
        let runID = plan?.runID ?? UUID().uuidString
        let execution = ExecutionRecord(backend)
        let continuation = plan.map { execution.continuation(from: ExecutionRecord(metadata: $0.checkpoint.model.metadata)) }
        let settings = RunSettings(self)
        var output: RunOutput?
        var markers: [LearningCurve.Marker] = []
        let title = "\(data) — \(network.describeArchitecture())"
        if let out {
            if runLock == nil {
                runLock = try OutputFolder.lockNew(out, overwrite: overwrite)
            }
            let leftovers = removedLeftovers ?? OutputFolder.removeLeftovers(in: out)
            if !leftovers.isEmpty {
                log("removed \(leftovers.count) temporary file(s) left by an interrupted write: \(leftovers.map { ($0 as NSString).lastPathComponent }.joined(separator: ", "))")
            }
            if plan == nil, overwrite { try OutputFolder.clear(out) }
            let prepared = try plan?.prepareFolder()
            let runOutput = try RunOutput(directory: out, continuing: prepared?.metrics)
            var runHistory = RunHistory(directory: out)
            if let plan {
                let state = plan.checkpoint.state
                try runHistory.append(RunHistory.Event(
                    kind: plan.isRollback ? .rollback : .resume, runID: runID, checkpoint: plan.checkpoint.name,
                    epoch: state.epoch, step: state.globalStep, stepInEpoch: state.stepInEpoch, changes: plan.changes,
                    archived: prepared?.archived, device: execution.device, bitForBit: continuation?.bitForBit))
                // best/ points at the best epoch of the live history (a rollback may have moved it away).
                if let best = bestTracker.bestEpoch, FileManager.default.fileExists(atPath: runOutput.path(ModelCheckpoint.epochDirectoryName(best))) {
                    try runOutput.copyCheckpoint(ModelCheckpoint.epochDirectoryName(best), to: ModelCheckpoint.bestDirectoryName)
                }
            } else {
                try runHistory.append(RunHistory.Event(kind: .start, runID: runID, settings: settings, device: execution.device))
            }
            markers = runHistory.markers
            try runOutput.writeLearningCurve(history, title: title, markers: markers)
            output = runOutput
        }
        if let plan {
            let state = plan.checkpoint.state
            var changed = plan.changes.isEmpty ? "" : "; changed " + plan.changes.map(\.label).joined(separator: ", ")
            if plan.changes.contains(where: { $0.key == "lr" }), schedule != .constant {
                changed += " (lr is the \(schedule.rawValue) schedule's α₀: epoch \(state.epoch + 1) runs at "
                    + "\(String(format: "%.3g", Double(trainer.currentLearningRate))))"
            }
            log("\(plan.isRollback ? "rolled back to" : "resumed from") \(plan.directory)/\(plan.checkpoint.name): "
                + "\(Self.describeProgress(epochs: state.epoch, steps: state.stepInEpoch)), step \(state.globalStep)\(changed)")
            if let note = continuation?.note { log("note: \(note)") }
        } else if outWasChosen, let out {
            log("writing to \(out) (no --out given)")
        }
        let progress = ProgressBar(enabled: isRoot && Terminal.standardErrorIsTerminal && !noProgress, batchSize: batch)

        trainer.onProgress = { progress.update($0) }
        trainer.onEpoch = { metrics in
            progress.finishEpoch()
            history.append(metrics)
            log(Self.describe(metrics, epochs: epochs))
            guard let output else { return }
            try output.recordEpoch(metrics, of: epochs)
            let metadata = checkpointMetadata(metrics: metrics, train: train, step: trainer.state.globalStep, runID: runID,
                                              settings: settings, execution: execution)
            guard metrics.isComplete else {
                // A --max-steps stop mid-epoch: partial/ holds it for --resume.
                try output.saveCheckpoint(network: network, trainer: trainer, name: RunCheckpoint.partialName, metadata: metadata)
                try output.writeLearningCurve(history, title: title, markers: markers)
                return
            }
            try output.saveCheckpoint(network: network, trainer: trainer, name: ModelCheckpoint.epochDirectoryName(metrics.epoch), metadata: metadata)
            try output.removeCheckpoint(RunCheckpoint.partialName)
            if bestTracker.consider(metrics) {
                try output.saveCheckpoint(network: network, trainer: trainer, name: ModelCheckpoint.bestDirectoryName, metadata: metadata)
            }
            try output.writeLearningCurve(history, title: title, markers: markers)
        }

        let report: TrainingReport
        do {
            report = try trainer.fit(train: train, dev: dev, test: splits.test)
        } catch let error as NNError {
            // Recorded so that the run folder says why it ended (nn dashboard shows it as diverged).
            if case .nonFinite = error, let out {
                var runHistory = RunHistory(directory: out)
                try? runHistory.append(RunHistory.Event(kind: .diverged, runID: runID, epoch: trainer.state.epoch, step: trainer.state.globalStep))
            }
            throw error
        }
        let test = report.test
        let final = FinalFigures(epoch: Self.finalWeightsEpoch(report, config: config, state: trainer.state),
                                 train: report.train, dev: report.dev, test: test)
        let best = try bestFigures(final: final, bestEpoch: bestTracker.bestEpoch, output: output, backend: backend,
                                   train: train, dev: dev, test: splits.test, batchSize: config.evaluationBatchSize)
        let wall = Date().timeIntervalSince(started)

        var finalLabel = final.epoch.map { "epoch \($0)" } ?? "mid-epoch, step \(report.globalSteps)"
        if report.stoppedEarly { finalLabel = "stopped early; weights of epoch \(report.bestEpoch ?? 0) restored" }
        if let best, best.epoch == final.epoch { finalLabel += ", saved as best/" }
        log("final accuracy (\(finalLabel)): \(final.summary)")
        if let best, best.epoch != final.epoch {
            log("best/ (epoch \(best.epoch ?? 0), best \(earlyStoppingMetric.rawValue)): \(best.summary)")
        }
        if let diagnosis = report.diagnosis { log("diagnosis: \(diagnosis)") }
        log(String(format: "throughput: %.0f samples/s; wall time %.1f s", report.samplesPerSecond, wall))

        var line = JSONLine()
        line.add("backend", backend.name)
        line.add("device", backend.deviceDescription)
        line.add("train_samples", train.count)
        line.add("dev_samples", dev?.count ?? 0)
        line.add("epochs", report.epochs.last?.epoch ?? trainer.state.epoch)
        line.add("steps", report.globalSteps)
        line.add("train_accuracy", report.train?.accuracy)
        line.add("dev_accuracy", report.dev?.accuracy)
        line.add("test_accuracy", test?.accuracy)
        line.add("train_loss", report.train?.loss)
        line.add("dev_loss", report.dev?.loss)
        line.add("test_loss", test?.loss)
        line.add("samples_per_second", report.samplesPerSecond)
        line.add("wall_seconds", wall)
        line.add("stopped_early", report.stoppedEarly)
        line.add("best_epoch", bestTracker.bestEpoch ?? report.bestEpoch)
        line.add("best_train_accuracy", best?.train?.accuracy)
        line.add("best_dev_accuracy", best?.dev?.accuracy)
        line.add("best_test_accuracy", best?.test?.accuracy)
        line.add("best_dev_loss", best?.dev?.loss)
        line.add("best_test_loss", best?.test?.loss)
        line.add("diagnosis", report.diagnosis?.finding.rawValue)
        line.add("out", out)
        if let plan { line.add("resumed_from", plan.checkpoint.name) }
        if let output {
            try output.writeSummary(line.text)
            log("wrote \(output.directory)/: \(OutputFolder.summarize(OutputFolder.runEntries(in: output.directory), in: output.directory))")
        }
        if json, isRoot { Terminal.printLine(line.text) }
    }

    /// Accuracy and loss of one set of weights on the run's sets, and the epoch they are from.
    struct FinalFigures {
        var epoch: Int?
        var train: Evaluation?
        var dev: Evaluation?
        var test: Evaluation?

        var summary: String {
            [("train", train), ("dev", dev), ("test", test)].compactMap { name, e in
                e.map { "\(name) \(Format.percent($0.accuracy))" }
            }.joined(separator: ", ")
        }
    }

    /// The epoch whose weights the network ends with: early stopping's restored best, else the last
    /// complete epoch; nil when a --max-steps stop ended mid-epoch.
    static func finalWeightsEpoch(_ report: TrainingReport, config: TrainingConfig, state: TrainingState) -> Int? {
        if config.earlyStopping != nil, report.stoppedEarly || state.epoch >= config.epochs, let best = report.bestEpoch {
            return best
        }
        return state.stepInEpoch == 0 ? state.epoch : nil
    }

    /// The figures of the weights in `best/`: the final ones when best/ holds the final epoch,
    /// otherwise measured by loading best/ and evaluating it on the same sets. nil without best/.
    func bestFigures(final: FinalFigures, bestEpoch: Int?, output: RunOutput?, backend: any Backend, train: Dataset,
                     dev: Dataset?, test: Dataset?, batchSize: Int) throws -> FinalFigures? {
        guard let bestEpoch, let output, FileManager.default.fileExists(atPath: output.path(ModelCheckpoint.bestDirectoryName)) else { return nil }
        guard bestEpoch != final.epoch else { return final }
        let network = try ModelCheckpoint.load(output.path(ModelCheckpoint.bestDirectoryName), backend: backend)
        return FinalFigures(epoch: bestEpoch, train: try network.evaluate(train, batchSize: batchSize),
                            dev: try dev.map { try network.evaluate($0, batchSize: batchSize) },
                            test: try test.map { try network.evaluate($0, batchSize: batchSize) })
    }

    /// Integer labels that skip a class (1, 2, 3 with no 0) give the softmax an output no sample
    /// teaches; usually the labels were meant to start at 0.
    static func unusedClassesWarning(_ train: Dataset, classes: Int) -> String? {
        guard train.classNames == nil else { return nil }
        // A separate test set may name more classes than the training labels reach.
        let counts = train.classCounts() + [Int](repeating: 0, count: max(0, classes - train.classes))
        let empty = counts.indices.filter { counts[$0] == 0 }
        guard !empty.isEmpty else { return nil }
        let list = empty.prefix(5).map(String.init).joined(separator: ", ") + (empty.count > 5 ? ", …" : "")
        return "\(train.name) has no samples of class\(empty.count == 1 ? "" : "es") \(list) of 0…\(classes - 1), "
            + "so the softmax has \(empty.count == 1 ? "an output" : "outputs") that no sample teaches; "
            + "class labels are meant to start at 0 (relabel), or give --classes to confirm"
    }

    /// "3 epochs done", "1 epoch and 12 steps done" (without "done": "1 epoch and 12 steps").
    static func describeProgress(epochs: Int, steps: Int, done: Bool = true) -> String {
        let progress = Format.count(epochs, "epoch") + (steps == 0 ? "" : " and " + Format.count(steps, "step"))
        return done ? progress + " done" : progress
    }

    /// `--train-size`: `size` of the rows in `train` (those the dev split left), drawn without
    /// replacement by a shuffle seeded with `seed`, kept in their order in `train` so `--no-shuffle`
    /// still means that order. The dev set is split off before, so every train size shares one dev set.
    static func drawTrainingSubset(of train: [Int], size: DevSize, seed: UInt64) throws -> [Int] {
        let count = size.count(of: train.count)
        guard count >= 1 else {
            throw CommandFailure.usage("--train-size \(size) of \(train.count) training samples is none; give a larger size")
        }
        guard count <= train.count else {
            throw CommandFailure.usage(
                "--train-size \(size) exceeds the \(train.count) training samples the dev split leaves; give at most \(train.count) (or a fraction)")
        }
        guard count < train.count else { return train }
        // Its own stream (the seed mixed with a constant): the draw does not echo the dev split's shuffle.
        var generator = SeededGenerator(seed: seed ^ 0x7472_6169_6E2D_7369)  // "train-si"
        return generator.permutation(train.count).prefix(count).sorted().map { train[$0] }
    }

    /// Free-form metadata of `model.safetensors`; "step", "run_id" and the settings are what
    /// `--resume` checks and rebuilds the run from.
    private func checkpointMetadata(metrics: EpochMetrics, train: Dataset, step: Int, runID: String,
                                    settings: RunSettings, execution: ExecutionRecord) -> [String: String] {
        var meta = ["dataset": data, "epoch": String(metrics.epoch), "train_samples": String(train.count),
                    "step": String(step), "run_id": runID, RunSettings.metadataKey: settings.json]
        meta.merge(execution.metadata) { _, recorded in recorded }
        if let a = metrics.devAccuracy { meta["dev_accuracy"] = String(a) }
        if let l = metrics.devLoss { meta["dev_loss"] = String(l) }
        return meta
    }

    static func describe(_ normalization: InputNormalization) -> String {
        switch normalization {
        case .perFeature: return "standardised per feature"
        case .global: return "standardised globally (one μ, σ)"
        case .none: return "as given"
        }
    }

    static func describe(_ m: EpochMetrics, epochs: Int) -> String {
        var text = "epoch \(m.epoch)/\(epochs)\(m.isComplete ? "" : " (partial)"): train loss \(Format.fixed(m.trainLoss)) acc \(Format.percent(m.trainAccuracy))"
        if let l = m.devLoss, let a = m.devAccuracy { text += " | dev loss \(Format.fixed(l)) acc \(Format.percent(a))" }
        text += " | lr \(String(format: "%.3g", Double(m.learningRate))) | \(Format.rate(m.samplesPerSecond)) samples/s | \(String(format: "%.1f", m.seconds)) s"
        return text
    }
}

/// Optimiser names on the command line.
enum OptimizerName: String, CaseIterable, ExpressibleByArgument {
    case sgd, momentum, rmsprop, adam

    init(_ kind: OptimizerKind) {
        switch kind {
        case .sgd: self = .sgd
        case .momentum: self = .momentum
        case .rmsprop: self = .rmsprop
        case .adam: self = .adam
        }
    }
}

/// Learning-rate schedule names on the command line.
enum ScheduleName: String, CaseIterable, ExpressibleByArgument {
    case constant
    case inverseTime = "inverse-time"
    case exponential
    case staircase
    case step
    case inverseSqrt = "inverse-sqrt"
    case cosine

    init(_ schedule: LearningRateSchedule) {
        switch schedule {
        case .constant: self = .constant
        case .inverseTime: self = .inverseTime
        case .exponential: self = .exponential
        case .staircase: self = .staircase
        case .step: self = .step
        case .inverseSqrt: self = .inverseSqrt
        case .cosine: self = .cosine
        }
    }
}

/// `--normalize` values: an `InputNormalization`, or auto to let the data decide.
enum NormalizationName: String, CaseIterable, ExpressibleByArgument {
    case auto
    case perFeature = "per-feature"
    case global
    case none

    func resolved(for data: DataSplits) -> InputNormalization {
        switch self {
        case .auto: return data.suggestedNormalization
        case .perFeature: return .perFeature
        case .global: return .global
        case .none: return .none
        }
    }
}

/// The dev metric that early stopping watches and `best/` is chosen by.
enum DevMetricName: String, CaseIterable, ExpressibleByArgument {
    case devAccuracy = "dev-accuracy"
    case devLoss = "dev-loss"

    var metric: EarlyStopping.Metric { self == .devAccuracy ? .devAccuracy : .devLoss }

    init(_ metric: EarlyStopping.Metric) { self = metric == .devAccuracy ? .devAccuracy : .devLoss }
}

/// Picks the epoch saved as `best/`: the best dev metric so far (a dev-accuracy tie goes to the
/// lower dev loss, then to the earlier epoch); without a dev set, the latest epoch.
struct BestEpochTracker {
    let metric: EarlyStopping.Metric
    private(set) var bestEpoch: Int?
    private var bestValue: Double?
    private var bestLoss: Double?

    init(metric: EarlyStopping.Metric) { self.metric = metric }

    mutating func consider(_ m: EpochMetrics) -> Bool {
        let value = metric == .devAccuracy ? m.devAccuracy : m.devLoss
        guard let value else {
            bestEpoch = m.epoch
            return true
        }
        // Early stopping's rule, so best/ and the weights it restores are always the same epoch.
        guard EarlyStopping(metric: metric, patience: 1).improves(value, loss: m.devLoss, over: bestValue, bestLoss: bestLoss) else {
            return false
        }
        bestValue = value
        bestLoss = m.devLoss
        bestEpoch = m.epoch
        return true
    }
}
