import NNCore

/// Gathers rows of a host data set, normalises them, and uploads them into device tensors reused
/// for every batch of the same size: one upload of features and one of labels per batch.
struct BatchLoader {
    let backend: any Backend
    private var tensors = BatchBufferCache<(inputs: Tensor, labels: Tensor)>()
    private var hostFeatures: [Float] = []
    private var hostLabels: [Float] = []

    init(backend: any Backend) {
        self.backend = backend
    }

    /// Throws unless `data` fits `network`: same feature width and the classes its head predicts.
    static func check(_ data: Dataset, fits network: Network) throws {
        let spec = network.spec
        guard data.width == spec.inputWidth else {
            throw NNError.shapeMismatch(
                op: "data set '\(data.name)'",
                detail: "layer 0 (\(spec.layers.first?.kindName ?? "input")) expects \(spec.inputWidth) input features per sample but the data has \(data.width); build the network with inputWidth \(data.width)")
        }
        guard data.classes <= spec.classes else {
            throw NNError.invalidData(
                source: data.name,
                detail: "labels range over \(data.classes) classes but the network classifies \(spec.classes); build it with classes: \(data.classes)")
        }
        if let normalizer = network.normalizer, normalizer.width != data.width {
            throw NNError.shapeMismatch(
                op: "input normaliser",
                detail: "fitted on \(normalizer.width) features but the data has \(data.width)")
        }
    }

    /// Uploads `rows` of `data` (normalised with `normalizer` when given).
    mutating func load(_ data: Dataset, rows: ArraySlice<Int>, normalizer: InputNormalizer?) throws -> (inputs: Tensor, labels: Tensor) {
        let m = rows.count
        let width = data.width
        let batch = try tensors.buffers(rows: m) {
            (try backend.makeTensor(Shape(m, width)), try backend.makeTensor(Shape(m, 1)))
        }
        if hostFeatures.count != m * width { hostFeatures = [Float](repeating: 0, count: m * width) }
        if hostLabels.count != m { hostLabels = [Float](repeating: 0, count: m) }
        if let normalizer {
            normalizer.gather(data, rows: rows, into: &hostFeatures)
        } else {
            hostFeatures.withUnsafeMutableBufferPointer { dst in
                data.features.withUnsafeBufferPointer { src in
                    for (k, r) in rows.enumerated() {
                        for j in 0..<width { dst[k * width + j] = src[r * width + j] }
                    }
                }
            }
        }
        for (k, r) in rows.enumerated() { hostLabels[k] = Float(data.labels[r]) }
        try backend.upload(hostFeatures, to: batch.inputs)
        try backend.upload(hostLabels, to: batch.labels)
        return batch
    }
}
