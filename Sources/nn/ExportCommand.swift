import ArgumentParser
import Foundation
import NNBackends
import NNCore
import NNTrain

/// `nn export --pytorch`: writes a saved model as a self-contained Python module for PyTorch.
///
/// Loading the state dict strictly is only part of the hand-off: the user must also build the
/// module, standardise inputs with the saved normaliser and switch to evaluation mode, and each
/// forgotten step silently costs accuracy (batch norm in training mode, raw 0–255 pixels). The
/// exported module does all of it, so `load(path)` then `predict_proba(model, x_raw)` reproduces
/// `nn eval --predictions`.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a saved model as a runnable PyTorch module, input normaliser inside.",
        discussion: """
            The Python file defines the checkpoint's nn.Sequential (its pytorch_module metadata) wrapped \
            with the input normaliser as buffers, so model(x) takes raw inputs on the scale given to nn train. \
            load(PATH) builds it, loads the weights with load_state_dict(strict=True) and calls .eval(); \
            predict_proba(model, x) returns the class probabilities nn eval --predictions writes; CLASSES \
            names the classes. It needs torch (1.13 or 2.x) and safetensors. Run with such a Python (e.g. .venv/bin/python), \
            `OUT.py MODEL.safetensors INPUT.csv` prints predictions in nn eval's CSV format.
            Exit codes: 0 written, 1 unreadable or inconsistent model, 2 usage error (such as a missing folder).
            """)

    @Option(help: modelHelp)
    var model: String

    @Option(help: ArgumentHelp("The Python file to write; its folder must exist.", valueName: "out.py"))
    var pytorch: String

    func validate() throws {
        guard pytorch.hasSuffix(".py"), pytorch != ".py", !pytorch.hasSuffix("/.py") else {
            throw ValidationError("--pytorch \(pytorch): name a .py file (e.g. --pytorch model.py) so that Python can import it")
        }
    }

    func run() throws {
        try Self.checkDestination(pytorch)
        let description = try ModelCheckpoint.describe(model)
        // A full load validates every tensor's name and shape now, so a broken checkpoint fails here
        // with nn's message rather than later inside the user's Python. The native backend needs no device.
        _ = try ModelCheckpoint.load(model, backend: try BackendSelection.make(.native))
        let source = try PyTorchModuleSource(description: description, modelPath: ModelCheckpoint.modelPath(for: model))
        try AtomicFile.write(source.text, to: pytorch)
        Terminal.printLine("wrote \(pytorch): \(description.metadata[ModelCheckpoint.Key.architecture] ?? "the model") "
                           + "with its input normaliser; in Python: load(\"\(ModelCheckpoint.modelPath(for: model))\")")
    }

    /// The output's folder must already exist: creating folders for a mistyped path would scatter files.
    static func checkDestination(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw CommandFailure.usage("--pytorch \(path) is a folder; name the .py file to write inside it")
        }
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CommandFailure.usage("--pytorch \(path): the folder \(parent) does not exist; create it (mkdir -p) or write elsewhere")
        }
    }
}

/// The Python source of an exported model.
struct PyTorchModuleSource {
    let text: String

    init(description: ModelCheckpoint.Description, modelPath: String) throws {
        let spec = description.spec
        let metadata = description.metadata
        // The module's code is generated from the validated architecture, never copied from the file:
        // metadata is free text, and pasting it into a Python file would run whatever it holds.
        // A checkpoint whose `pytorch_module` disagrees with its architecture is corrupt or edited.
        guard let sequential = spec.pytorchSource else {
            throw CommandFailure.failed(
                "\(modelPath): layer(s) \(spec.layersWithoutPyTorchModule.joined(separator: ", ")) have no PyTorch module, so the model "
                    + "cannot be exported to PyTorch; give those layers a pytorchModule(at:) in their definition")
        }
        if let saved = metadata[ModelCheckpoint.Key.pytorchModule], saved != sequential {
            throw CommandFailure.failed(
                "\(modelPath): the '\(ModelCheckpoint.Key.pytorchModule)' metadata does not match the '\(ModelCheckpoint.Key.networkSpec)' "
                    + "architecture; the file was edited or is corrupt. Export a checkpoint written by nn train")
        }
        // Checked by ModelCheckpoint.describe: one distinct name per class, or none (the classes are numbered).
        let classes = description.classNames ?? (0..<spec.classes).map(String.init)
        let specJSON = metadata[ModelCheckpoint.Key.networkSpec] ?? ""
        let architecture = metadata[ModelCheckpoint.Key.architecture] ?? "\(spec.inputWidth) inputs, \(spec.layers.count) layers"

        var normaliser: String
        if let normalizer = description.normalizer {
            normaliser = """
                # The input normaliser x' = (x - MEAN) / STD, fitted by nn train on its training set. Each literal is
                # the exact value of the Float32 nn uses, so the module standardises bit for bit as nn does.
                MEAN = \(Self.floatList(normalizer.mean))
                STD = \(Self.floatList(normalizer.standardDeviation))
                """
        } else {
            normaliser = """
                # The model was trained without an input normaliser (--normalize none): (x - 0) / 1 is exactly x.
                MEAN = [0.0] * INPUT_WIDTH
                STD = [1.0] * INPUT_WIDTH
                """
        }
        normaliser += "\n"

        let sequentialBody = sequential.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        text = Self.fill(Self.template, [
            "ARCHITECTURE": Self.oneLine(architecture),
            "SOURCE": Self.oneLine(modelPath),
            "INPUT_WIDTH": String(spec.inputWidth),
            "HEAD": Self.pythonString(spec.head.rawValue),
            "CLASSES": "[" + classes.map(Self.pythonString).joined(separator: ", ") + "]",
            "NETWORK_SPEC": "json.loads(\(Self.pythonString(specJSON)))",
            "NORMALISER": normaliser,
            "SEQUENTIAL": "return " + sequentialBody.dropFirst(4),
        ])
    }

    /// Replaces each `@NAME@` of `template` in one pass, so text inserted for one placeholder (a class
    /// name, a path) is never itself searched for placeholders.
    static func fill(_ template: String, _ values: [String: String]) -> String {
        var out = ""
        var rest = Substring(template)
        while let start = rest.firstIndex(of: "@") {
            out += rest[..<start]
            let afterAt = rest.index(after: start)
            if let end = rest[afterAt...].firstIndex(of: "@"), let value = values[String(rest[afterAt..<end])] {
                out += value
                rest = rest[rest.index(after: end)...]
            } else {
                out += "@"
                rest = rest[afterAt...]
            }
        }
        return out + rest
    }

    /// A Python list of Float32 values, eight a line. `Double(value)` prints the shortest decimal that
    /// reads back as that Double, which is the Float32 exactly, so torch.float32 recovers it bit for bit.
    static func floatList(_ values: [Float]) -> String {
        var lines: [String] = []
        var index = 0
        while index < values.count {
            let chunk = values[index..<min(index + 8, values.count)]
            lines.append("    " + chunk.map { "\(Double($0))," }.joined(separator: " "))
            index += 8
        }
        return "[\n" + lines.joined(separator: "\n") + "\n]"
    }

    /// A Python string literal in plain ASCII: quotes, backslashes, control and non-ASCII characters
    /// escaped, so any metadata text yields valid source and cannot end the literal early.
    static func pythonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value >= 0x20, scalar.value < 0x7F {
                    out.unicodeScalars.append(scalar)
                } else if scalar.value <= 0xFFFF {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out += String(format: "\\U%08x", scalar.value)
                }
            }
        }
        return out + "\""
    }

    /// Text for a comment or docstring line: one line, ASCII, no quote runs that could end the docstring.
    static func oneLine(_ text: String) -> String {
        let literal = pythonString(text)
        return String(literal.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "'")
    }

    // The module. Kept valid for Python 3.8+ and torch 1.13 and 2.x: no match statements, no
    // torch.func, and only long-stable torch calls (register_buffer, load_state_dict, softmax).
    static let template = #"""
        # Generated by `nn export` (SwiftNN) from @SOURCE@. Export again rather than editing.
        """@ARCHITECTURE@: a SwiftNN model as a PyTorch module.

        The module takes inputs on the raw scale given to `nn train` (the input normaliser is inside it)
        and returns logits; predict_proba() turns them into the class probabilities `nn eval --predictions`
        writes.

            import exported_model as m
            model = m.load("runs/x/best/model.safetensors")  # strict weights, evaluation mode
            p = m.predict_proba(model, x_raw)                 # x_raw: N x INPUT_WIDTH, raw scale
            names = [m.CLASSES[i] for i in p.argmax(dim=1)]

        From a shell, `python3 THIS.py MODEL.safetensors INPUT.csv` prints `nn eval --predictions` CSV.
        Needs torch (1.13 or 2.x) and safetensors.
        """
        import csv
        import json
        import os
        import sys

        import torch
        from torch import nn

        INPUT_WIDTH = @INPUT_WIDTH@
        # "softmax": one logit per class. "sigmoid": one logit, the log-odds of class 1.
        HEAD = @HEAD@
        # Class names in class-index order.
        CLASSES = @CLASSES@

        # The architecture as the checkpoint records it (its network_spec metadata). load() compares a file's
        # metadata with it and with MEAN and STD, so weights saved for another architecture or with another
        # normaliser are refused rather than silently mis-scaled.
        NETWORK_SPEC = @NETWORK_SPEC@

        @NORMALISER@

        def sequential():
            """The network without the normaliser; its state_dict keys are exactly model.safetensors' tensors."""
            @SEQUENTIAL@


        class Model(nn.Module):
            """The normaliser (as buffers, so .to(device) moves it) followed by the network."""

            def __init__(self):
                super().__init__()
                self.register_buffer("mean", torch.tensor(MEAN, dtype=torch.float32))
                self.register_buffer("std", torch.tensor(STD, dtype=torch.float32))
                self.network = sequential()

            def forward(self, x):
                return self.network((x - self.mean) / self.std)


        def build():
            """The module with fresh weights, in training mode like every new PyTorch module."""
            return Model()


        def load(path):
            """Builds the module, loads a model.safetensors (or a checkpoint folder holding one) strictly, and
            switches to evaluation mode: batch norm then uses its running statistics and dropout is off."""
            from safetensors import safe_open
            from safetensors.torch import load_file

            if os.path.isdir(path):
                path = os.path.join(path, "model.safetensors")
            with safe_open(path, "pt") as f:
                metadata = f.metadata() or {}
            model = build()
            # Only a file written by nn records its architecture; a bare state dict is loaded as it is.
            if "network_spec" in metadata:
                if json.loads(metadata["network_spec"]) != NETWORK_SPEC:
                    raise ValueError(f"{path} holds another architecture than this module; "
                                     f"export it with `nn export --model {path} --pytorch FILE.py`")
                saved = json.loads(metadata.get("input_normalizer", "null"))
                mean, std = (saved["mean"], saved["standardDeviation"]) if saved else ([0.0] * INPUT_WIDTH, [1.0] * INPUT_WIDTH)
                if not (torch.equal(torch.tensor(mean, dtype=torch.float32), model.mean)
                        and torch.equal(torch.tensor(std, dtype=torch.float32), model.std)):
                    raise ValueError(f"{path} was trained with another input normaliser than this module's; "
                                     f"export it with `nn export --model {path} --pytorch FILE.py`")
            model.network.load_state_dict(load_file(path), strict=True)
            model.eval()
            return model


        def probabilities(logits):
            """Class probabilities from logits, one column per class (for the sigmoid head [1 - p, p], as nn writes)."""
            if HEAD == "sigmoid":
                p = torch.sigmoid(logits[:, 0])
                return torch.stack([1 - p, p], dim=1)
            return torch.softmax(logits, dim=1)


        def predict_proba(model, x):
            """Class probabilities (N x len(CLASSES)) of raw inputs x (N x INPUT_WIDTH: a tensor, array or list).

            It runs the model in whatever mode it is in; load() leaves it in evaluation mode."""
            reference = model.mean
            x = torch.as_tensor(x, dtype=torch.float32, device=reference.device)
            if x.dim() != 2 or x.shape[1] != INPUT_WIDTH:
                raise ValueError(f"expected inputs of shape (N, {INPUT_WIDTH}), got {tuple(x.shape)}")
            with torch.no_grad():
                return probabilities(model(x))


        def _read_csv(path):
            """Rows of numbers; a first row holding a non-number is a header and skipped."""
            rows = []
            with open(path, newline="") as f:
                for number, row in enumerate(csv.reader(f), start=1):
                    if not row:
                        continue
                    try:
                        rows.append([float(value) for value in row])
                    except ValueError:
                        if number == 1:
                            continue
                        raise SystemExit(f"{path}:{number}: not a number in {row!r}")
            return rows


        def main(argv):
            if len(argv) != 3:
                print(f"usage: python3 {argv[0]} MODEL.safetensors INPUT.csv\n"
                      f"INPUT.csv: {INPUT_WIDTH} feature columns, optionally followed by a label column", file=sys.stderr)
                return 2
            model = load(argv[1])
            rows = _read_csv(argv[2])
            widths = {len(row) for row in rows}
            if not rows or not widths <= {INPUT_WIDTH, INPUT_WIDTH + 1} or len(widths) != 1:
                print(f"{argv[2]}: expected rows of {INPUT_WIDTH} features (or {INPUT_WIDTH} and a label), "
                      f"found widths {sorted(widths)}", file=sys.stderr)
                return 1
            labelled = widths == {INPUT_WIDTH + 1}
            p = predict_proba(model, [row[:INPUT_WIDTH] for row in rows])
            header = ["label"] if labelled else []
            print(",".join(header + ["predicted"] + [f"p{i}" for i in range(len(CLASSES))]))
            for row, probs in zip(rows, p.tolist()):
                fields = [str(int(row[-1]))] if labelled else []
                fields.append(str(max(range(len(probs)), key=probs.__getitem__)))
                print(",".join(fields + ["%.9g" % v for v in probs]))
            return 0


        if __name__ == "__main__":
            sys.exit(main(sys.argv))

        """#
}
