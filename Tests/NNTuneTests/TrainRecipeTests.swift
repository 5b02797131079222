import Foundation
import NNTune
import XCTest
@testable import NNTrain
@testable import nn

/// `nn train` and the library run one recipe: the command's effective settings without flags are
/// `TrainingConfig.recommended` and `TrainingRecipe.standard`'s network. (Here because this target
/// already imports the nn executable, which `nn tune` drives around the same recipe.)
final class TrainRecipeTests: XCTestCase {
    func testNNTrainWithoutFlagsRunsTheLibrarysRecommendedRecipe() throws {
        let recipe = TrainingRecipe.standard
        let command = try TrainCommand.parse([])
        XCTAssertEqual(try command.makeConfig(hasDev: true, normalization: .perFeature), TrainingConfig.recommended)
        XCTAssertEqual(try command.makeConfig(hasDev: true, normalization: .global), TrainingConfig.recommended(normalization: .global))
        XCTAssertEqual(try command.makeSpec(inputWidth: 784, classes: 10), try recipe.networkSpec(inputWidth: 784, classes: 10))
        XCTAssertEqual(command.normalize, .auto, "nn picks global for images, per feature otherwise")
        guard case let .fraction(devFraction) = command.devSize else { return XCTFail("the default dev size is a fraction") }
        XCTAssertEqual(devFraction, recipe.devFraction)
        XCTAssertEqual(command.splitSeed, recipe.splitSeed)
        XCTAssertEqual(command.earlyStoppingMetric.metric, recipe.earlyStoppingMetric)
        XCTAssertEqual(command.momentum, recipe.momentumBeta)
        XCTAssertEqual(command.patience, 0, "early stopping is off in the recipe")
    }

    func testFlagsStillOverrideTheRecipe() throws {
        let command = try TrainCommand.parse(["--lr", "0.01", "--schedule", "constant", "--batch", "32", "--optimizer", "momentum",
                                              "--momentum", "0.5", "--bn-beta", "0.8", "--layers", "16"])
        let config = try command.makeConfig(hasDev: true, normalization: .perFeature)
        XCTAssertEqual(config.learningRate, 0.01)
        XCTAssertEqual(config.schedule, .constant)
        XCTAssertEqual(config.batchSize, 32)
        XCTAssertEqual(config.optimizer, .momentum(beta: 0.5))
        var recipe = TrainingRecipe.standard
        recipe.hiddenLayers = [16]
        recipe.batchNormBeta = 0.8
        XCTAssertEqual(try command.makeSpec(inputWidth: 64, classes: 10), try recipe.networkSpec(inputWidth: 64, classes: 10))
        XCTAssertNotEqual(try command.makeSpec(inputWidth: 64, classes: 10), try TrainingRecipe.standard.networkSpec(inputWidth: 64, classes: 10))
    }

    /// A flag set away from its default that the run's optimiser, schedule or network never reads
    /// is named in a warning (not refused: a tuner may search the optimiser and its flags together).
    func testFlagsTheRunNeverReadsAreNamed() throws {
        XCTAssertNil(try TrainCommand.parse([]).unreadFlagsWarning())
        XCTAssertNil(try TrainCommand.parse(["--optimizer", "momentum", "--momentum", "0.8", "--schedule", "step", "--decay-rate", "0.5"])
            .unreadFlagsWarning())
        let warning = try XCTUnwrap(TrainCommand.parse(["--momentum", "0.8", "--decay-rate", "0.5", "--no-batchnorm", "--bn-beta", "0.5"])
            .unreadFlagsWarning())
        for part in ["--momentum has no effect without --optimizer momentum", "--decay-rate has no effect without --schedule exponential or step",
                     "--bn-beta has no effect without --batchnorm", "this run: --optimizer adam, --schedule cosine, no batch norm"] {
            XCTAssertTrue(warning.contains(part), warning)
        }
        XCTAssertNil(try TrainCommand.parse(["--momentum", String(TrainingRecipe.standard.momentumBeta)]).unreadFlagsWarning(),
                     "a default given explicitly changes nothing either way")
    }

    /// The reproduction command `nn tune` prints for its best trial leaves out the study's flags that
    /// the trial's own optimiser, schedule or network would not read, in either spelling, so that
    /// copying it does not draw the warning above; arguments that do not parse are left as they are.
    func testReproductionCommandsLeaveOutFlagsTheirRunDoesNotRead() throws {
        let study = ["--data", "digits", "--momentum", "0.8", "--beta1=0.95", "--epochs", "3"]
        let momentumTrial = TrainCommand.removingUnreadFlags(study + ["--optimizer", "momentum", "--lr", "0.1"])
        XCTAssertEqual(momentumTrial, ["--data", "digits", "--momentum", "0.8", "--epochs", "3", "--optimizer", "momentum", "--lr", "0.1"])
        let adamTrial = TrainCommand.removingUnreadFlags(study + ["--optimizer", "adam", "--no-batchnorm", "--bn-beta", "0.5"])
        XCTAssertEqual(adamTrial, ["--data", "digits", "--beta1=0.95", "--epochs", "3", "--optimizer", "adam", "--no-batchnorm"])
        for arguments in [momentumTrial, adamTrial] {
            XCTAssertNil(try TrainCommand.parse(arguments).unreadFlagsWarning(), "\(arguments)")
        }
        XCTAssertEqual(TrainCommand.removingUnreadFlags(["--momentum", "0.8", "--no-such-flag"]), ["--momentum", "0.8", "--no-such-flag"])
    }

    /// `nn tune` refuses a space searching a flag that no trial reads, whatever fixes the optimiser.
    func testTuneRefusesASpaceSearchingAFlagNoTrialReads() throws {
        func space(_ json: String) throws -> SearchSpace { try SearchSpace(json: Data(json.utf8), source: "test") }
        let momentum = try space(#"{"lr": "logUniform(1e-4, 1e-2)", "momentum": "oneMinusLogUniform(0.9, 0.999)"}"#)
        XCTAssertThrowsError(try TuneRunCommand.checkSearchedFlagsAreRead(momentum, trainArguments: ["--data", "digits"])) { error in
            let text = "\(error)"
            for part in ["searches momentum", "no effect without --optimizer momentum", "every trial runs --optimizer adam"] {
                XCTAssertTrue(text.contains(part), text)
            }
        }
        XCTAssertNoThrow(try TuneRunCommand.checkSearchedFlagsAreRead(momentum, trainArguments: ["--optimizer", "momentum"]))
        XCTAssertNoThrow(try TuneRunCommand.checkSearchedFlagsAreRead(
            try space(#"{"momentum": "uniform(0.8, 0.9)", "optimizer": "choice(adam, momentum)"}"#), trainArguments: []))
        XCTAssertThrowsError(try TuneRunCommand.checkSearchedFlagsAreRead(
            try space(#"{"decay": "uniform(0.1, 1)", "schedule": "choice(cosine, exponential)"}"#), trainArguments: []))
        let documented = #"{"lr": "logUniform(1e-4, 1)", "optimizer": "fixed(momentum)", "momentum": "oneMinusLogUniform(0.9, 0.999)", "#
            + #""hidden": "int(64, 512)", "batch": "choice(64, 128, 256)"}"#
        XCTAssertNoThrow(try TuneRunCommand.checkSearchedFlagsAreRead(try space(documented), trainArguments: []),
                         "the example of nn tune --help and the docs")
        XCTAssertNoThrow(try TuneRunCommand.checkSearchedFlagsAreRead(SearchSpace.recommended, trainArguments: []),
                         "the default space searches Adam's β₁ with Adam")
    }
}
