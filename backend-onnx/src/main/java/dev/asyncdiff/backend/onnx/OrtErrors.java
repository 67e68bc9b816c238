package dev.asyncdiff.backend.onnx;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtException.OrtErrorCode;
import dev.asyncdiff.api.AsyncDiffException;
import dev.asyncdiff.api.BackendException;
import dev.asyncdiff.api.MalformedModelException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/** Translates ONNX Runtime's checked {@link OrtException} into AsyncDiff's exceptions. */
final class OrtErrors {
    /** Codes that, while loading an existing file, mean the file or its external data is unusable. */
    private static final Set<OrtErrorCode> MALFORMED_ON_LOAD = EnumSet.of(OrtErrorCode.ORT_INVALID_PROTOBUF,
            OrtErrorCode.ORT_NO_MODEL, OrtErrorCode.ORT_INVALID_GRAPH, OrtErrorCode.ORT_NO_SUCHFILE);

    private OrtErrors() {
    }

    /**
     * The exception for a failure to load {@code model}: a {@link MalformedModelException} naming
     * the file when the model, its protobuf or its external data is unreadable, else a
     * {@link BackendException} with ONNX Runtime's error code.
     */
    static AsyncDiffException onLoad(Path model, OrtException e) {
        OrtErrorCode code = e.getCode();
        String message = e.getMessage();
        String lower = message == null ? "" : message.toLowerCase(Locale.ROOT);
        if (lower.contains("external data") || lower.contains("external_data")
                || (code == OrtErrorCode.ORT_NO_SUCHFILE || lower.contains("no such file"))) {
            return new MalformedModelException(model, "cannot read the model's external data (it must lie beside"
                    + " the .onnx file, at the location the model names) [" + code + "]: " + message, e);
        }
        if (MALFORMED_ON_LOAD.contains(code) || lower.contains("protobuf") || lower.contains("load model")) {
            return new MalformedModelException(model, "not a valid ONNX model (truncated or corrupt?) [" + code + "]: "
                    + message, e);
        }
        return new BackendException(code.name(), "ONNX Runtime could not load " + model.toAbsolutePath() + ": "
                + message, e);
    }

    /** The exception for a native failure while doing {@code what}, carrying ONNX Runtime's error code. */
    static BackendException onCall(String what, OrtException e) {
        return new BackendException(e.getCode().name(), "ONNX Runtime failed to " + what + ": " + e.getMessage(), e);
    }
}
