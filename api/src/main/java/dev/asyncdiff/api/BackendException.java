package dev.asyncdiff.api;

/** A failure inside a native backend (ONNX Runtime, TensorRT), with the backend's error code. */
public class BackendException extends AsyncDiffException {
    private static final long serialVersionUID = 1L;
    private final String errorCode;

    public BackendException(String errorCode, String message, Throwable cause) {
        super(message + " [" + errorCode + "]", cause);
        this.errorCode = errorCode;
    }

    /** The backend's error code, e.g. ONNX Runtime's {@code ORT_INVALID_ARGUMENT}. */
    public String errorCode() {
        return errorCode;
    }
}
