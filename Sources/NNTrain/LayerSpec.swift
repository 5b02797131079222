import Foundation
import NNCore

/// One layer of a sequential network: a ``LayerDefinition`` of any kind, built in or registered.
///
/// The position in ``NetworkSpec/layers`` is the layer's index in the equivalent PyTorch
/// `nn.Sequential`, so activations and dropout count as layers. Encoded as `{"<kind>": {…}}`, the
/// format of every checkpoint written so far.
public struct LayerSpec: Sendable, Codable, Equatable {
    public let definition: any LayerDefinition

    public init(_ definition: some LayerDefinition) {
        self.definition = definition
    }

    /// Fully connected: z = x·Wᵀ + b with W stored out × in (as PyTorch's `Linear`). The bias is
    /// dropped when batch norm follows, because β takes its role.
    public static func dense(units: Int, initializer: WeightInit) -> LayerSpec {
        LayerSpec(DenseDefinition(units: units, initializer: initializer))
    }

    /// Per-feature batch normalisation with learnable γ, β. `averagingBeta` is the course's β for
    /// the running averages (r ← β·r + (1 − β)·θ), i.e. 1 − PyTorch's `momentum`: 0.9 ↔ 0.1.
    public static func batchNorm(epsilon: Float, averagingBeta: Float) -> LayerSpec {
        LayerSpec(BatchNormDefinition(epsilon: epsilon, averagingBeta: averagingBeta))
    }

    /// Batch norm with PyTorch's defaults (ε = 1e-5, momentum 0.1).
    public static let batchNorm = LayerSpec.batchNorm(epsilon: 1e-5, averagingBeta: 0.9)

    public static func activation(_ activation: Activation) -> LayerSpec {
        LayerSpec(ActivationDefinition(activation))
    }

    /// Inverted dropout keeping each unit with probability `keep` (PyTorch's p = 1 − keep).
    public static func dropout(keep: Float) -> LayerSpec {
        LayerSpec(DropoutDefinition(keep: keep))
    }

    /// A short name for reports: "dense", "batchnorm", "relu", "dropout".
    public var kindName: String { definition.displayName }

    /// The definition as a concrete kind, or nil when it is another kind.
    public func definition<Definition: LayerDefinition>(as type: Definition.Type) -> Definition? {
        definition as? Definition
    }

    public static func == (lhs: LayerSpec, rhs: LayerSpec) -> Bool {
        lhs.definition.isEqual(to: rhs.definition)
    }

    // MARK: Registry and coding

    /// Makes checkpoints holding `definition`'s kind readable. The built-in kinds are always registered;
    /// registering a kind twice with the same type is harmless, with another type an error.
    public static func register<Definition: LayerDefinition>(_ definition: Definition.Type) throws {
        try registry.withLock { kinds in
            if let existing = kinds[Definition.kind], ObjectIdentifier(existing) != ObjectIdentifier(Definition.self) {
                throw NNError.invalidArgument(
                    op: "LayerSpec.register",
                    detail: "layer kind '\(Definition.kind)' is already registered by \(existing); give \(Definition.self) another kind")
            }
            kinds[Definition.kind] = Definition.self
        }
    }

    /// Every registered kind, sorted.
    public static var registeredKinds: [String] { registry.withLock { $0.keys.sorted() } }

    private static let registry = LockedKinds([
        DenseDefinition.kind: DenseDefinition.self,
        BatchNormDefinition.kind: BatchNormDefinition.self,
        ActivationDefinition.kind: ActivationDefinition.self,
        DropoutDefinition.kind: DropoutDefinition.self,
    ])

    fileprivate struct KindKey: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: KindKey.self)
        guard container.allKeys.count == 1, let key = container.allKeys.first else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath,
                debugDescription: "a layer is one {\"kind\": {…}} entry; found keys \(container.allKeys.map(\.stringValue))"))
        }
        guard let type = Self.registry.withLock({ $0[key.stringValue] }) else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath + [key],
                debugDescription: "unknown layer kind '\(key.stringValue)' (known: \(Self.registeredKinds.joined(separator: ", "))); "
                    + "a program with its own layers registers them with LayerSpec.register(_:) before loading"))
        }
        definition = try type.decode(from: container, forKey: key)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: KindKey.self)
        try definition.encode(into: &container)
    }
}

/// The kind → type table behind a lock: registration may come from any thread.
private final class LockedKinds: @unchecked Sendable {
    private let lock = NSLock()
    private var kinds: [String: any LayerDefinition.Type]

    init(_ kinds: [String: any LayerDefinition.Type]) { self.kinds = kinds }

    func withLock<T>(_ body: (inout [String: any LayerDefinition.Type]) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&kinds)
    }
}

// Methods on the protocol open the existential: inside them `Self` is the concrete definition.
extension LayerDefinition {
    /// Wraps the definition as a ``LayerSpec``.
    public var spec: LayerSpec { LayerSpec(self) }

    fileprivate func isEqual(to other: any LayerDefinition) -> Bool {
        (other as? Self) == self
    }

    fileprivate func encode(into container: inout KeyedEncodingContainer<LayerSpec.KindKey>) throws {
        try container.encode(self, forKey: LayerSpec.KindKey(stringValue: Self.kind))
    }

    fileprivate static func decode(from container: KeyedDecodingContainer<LayerSpec.KindKey>,
                                   forKey key: LayerSpec.KindKey) throws -> any LayerDefinition {
        try container.decode(Self.self, forKey: key)
    }
}
