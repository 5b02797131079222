import NNCore

/// A tensor downloaded to the host under a PyTorch state-dict name ("0.weight", "1.running_var",
/// "optimizer.0.weight.m"), with PyTorch's shape: a Linear weight is `[out, in]`, vectors are `[n]`,
/// and `num_batches_tracked` is a 0-dimensional int64 (`[]`).
public struct NamedTensor: Sendable, Equatable {
    /// The element type as safetensors names it.
    public enum DType: String, Sendable, Codable {
        case float32 = "F32"
        case int64 = "I64"
    }

    public var name: String
    public var shape: [Int]
    public var dtype: DType
    /// The payload of a float32 tensor (empty for int64).
    public var values: [Float]
    /// The payload of an int64 tensor (empty for float32).
    public var integers: [Int64]

    public static func float32(_ name: String, shape: [Int], values: [Float]) -> NamedTensor {
        NamedTensor(name: name, shape: shape, dtype: .float32, values: values, integers: [])
    }

    public static func int64(_ name: String, shape: [Int], integers: [Int64]) -> NamedTensor {
        NamedTensor(name: name, shape: shape, dtype: .int64, values: [], integers: integers)
    }

    public init(name: String, shape: [Int], dtype: DType, values: [Float], integers: [Int64]) {
        self.name = name
        self.shape = shape
        self.dtype = dtype
        self.values = values
        self.integers = integers
    }

    /// Number of elements the shape describes (1 for a 0-dimensional tensor).
    public var elementCount: Int { shape.reduce(1, *) }

    /// Throws `NNError.nonFinite(detail:)` naming the first NaN or infinity in `tensors`: a model
    /// or run state holding one came from a diverged run and must not be saved over a good one.
    public static func checkFinite(_ tensors: [NamedTensor], saving what: String) throws {
        for t in tensors where t.dtype == .float32 {
            if let i = t.values.firstIndex(where: { !$0.isFinite }) {
                throw NNError.nonFinite(
                    detail: "'\(t.name)' holds \(t.values[i]) at element \(i), so \(what) was not saved (checkpoints already written are kept); "
                        + "the run diverged: lower the learning rate")
            }
        }
    }
}

/// Matches a list of named tensors against the names and shapes a receiver expects, so that a
/// load reports every missing, unexpected and misshapen tensor at once.
struct NamedTensorTable {
    private var byName: [String: NamedTensor] = [:]
    private var problems: [String] = []
    private var consumed: Set<String> = []
    let source: String

    init(_ tensors: [NamedTensor], source: String) {
        self.source = source
        for t in tensors {
            if byName[t.name] != nil { problems.append("'\(t.name)' appears twice") }
            byName[t.name] = t
            let expected = t.dtype == .float32 ? t.values.count : t.integers.count
            if expected != t.elementCount {
                problems.append("'\(t.name)' has shape \(t.shape) but \(expected) values")
            }
        }
    }

    /// The float32 values of `name`, which must have exactly `shape` and be finite; nil (with a
    /// problem noted) otherwise. A NaN or infinity in a saved parameter, statistic or moment only
    /// ever comes from a diverged run or a damaged file, and would turn every output into NaN.
    mutating func floats(_ name: String, shape: [Int]) -> [Float]? {
        guard let t = take(name, shape: shape) else { return nil }
        switch t.dtype {
        case .float32:
            if let bad = t.values.firstIndex(where: { !$0.isFinite }) {
                problems.append("'\(name)' holds \(t.values[bad]) at element \(bad)")
                return nil
            }
            return t.values
        case .int64:
            problems.append("'\(name)' is I64 but must be F32")
            return nil
        }
    }

    /// The single integer of a 0-dimensional int64 tensor (F32 with an integral value is accepted too).
    mutating func integer(_ name: String) -> Int64? {
        guard let t = take(name, shape: []) else { return nil }
        switch t.dtype {
        case .int64:
            guard let n = t.integers.first, n >= 0 else {
                problems.append("'\(name)' must hold a non-negative integer")
                return nil
            }
            return n
        case .float32:
            // Float32 counts above 2^24 are no longer exact; above 2^53 the conversion would trap.
            guard let v = t.values.first, v.rounded() == v, v >= 0, v < 0x1p53 else {
                problems.append("'\(name)' must hold a non-negative integer")
                return nil
            }
            return Int64(v)
        }
    }

    private mutating func take(_ name: String, shape: [Int]) -> NamedTensor? {
        consumed.insert(name)
        guard let t = byName[name] else {
            problems.append("'\(name)' (shape \(shape)) is missing")
            return nil
        }
        guard t.shape == shape else {
            problems.append("'\(name)' has shape \(t.shape) but the network needs \(shape)")
            return nil
        }
        return t
    }

    /// Throws one error listing every problem, including tensors nobody asked for.
    func finish(expectedFrom what: String) throws {
        var all = problems
        let extra = byName.keys.filter { !consumed.contains($0) }.sorted()
        if !extra.isEmpty {
            all.append("unexpected tensor(s) \(extra.map { "'\($0)'" }.joined(separator: ", "))")
        }
        guard all.isEmpty else {
            throw NNError.invalidData(
                source: source,
                detail: "does not fit \(what): " + all.joined(separator: "; ")
                    + ". Load a checkpoint saved for the same architecture (layer sizes, batch norm, head)")
        }
    }
}
