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
}
