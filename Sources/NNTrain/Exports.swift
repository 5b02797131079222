// A program that trains imports NNTrain and gets the types its API speaks in (Tensor, Backend, Dataset,
// SeededGenerator, NNError) without a second import.
@_exported import NNCore
