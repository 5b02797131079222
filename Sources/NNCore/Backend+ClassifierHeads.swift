/// Classifier heads: softmax, the fused losses, and argmax.
///
/// Implement the `unchecked…` hooks; call ``Backend/softmax(_:into:)``, … instead.
public protocol ClassifierHeadOps: AnyObject, Sendable {
    func uncheckedSoftmax(_ x: Tensor, into y: Tensor) throws
    func uncheckedSoftmaxCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor) throws
    func uncheckedSigmoidCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor) throws
    func uncheckedArgmaxRows(_ x: Tensor, into out: Tensor) throws
}

extension Backend {
    /// Row-wise softmax, subtracting each row's max first. y may alias x.
    public func softmax(_ x: Tensor, into y: Tensor) throws {
        try OpCheck.softmax(x, into: y, on: self)
        try uncheckedSoftmax(x, into: y)
    }

    /// Fused softmax + cross-entropy over m×C logits with m×1 integer labels:
    /// loss (1×1) ← −(1/m)·Σ log ŷ[i, label_i], computed as log-sum-exp so it stays finite;
    /// gradient (m×C) ← (ŷ − onehot(y))/m. Labels outside 0..<C give a NaN loss.
    public func softmaxCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor) throws {
        try OpCheck.softmaxCrossEntropy(logits, labels: labels, gradient: gradient, loss: loss, on: self)
        try uncheckedSoftmaxCrossEntropy(logits, labels: labels, gradient: gradient, loss: loss)
    }

    /// Fused sigmoid + binary cross-entropy over m×1 logits with 0/1 labels:
    /// loss ← (1/m)·Σ [softplus(z) − y·z], gradient ← (σ(z) − y)/m.
    public func sigmoidCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor) throws {
        try OpCheck.sigmoidCrossEntropy(logits, labels: labels, gradient: gradient, loss: loss, on: self)
        try uncheckedSigmoidCrossEntropy(logits, labels: labels, gradient: gradient, loss: loss)
    }

    /// out[i] ← index of the largest value in row i (first on ties), as a Float. `out` is m×1.
    public func argmaxRows(_ x: Tensor, into out: Tensor) throws {
        try OpCheck.argmaxRows(x, into: out, on: self)
        try uncheckedArgmaxRows(x, into: out)
    }
}
