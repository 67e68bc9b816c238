package dev.asyncdiff.communicator.grpc;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.backend.onnx.OnnxBackendProvider;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.BackendOptions;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A worker JVM for the tests: {@code TestWorker DEVICE STORE [MODEL_HASH]}, its rank and world from the
 * environment; exits when rank 0 ends the session, with 0, or 1 when it could not join.
 */
public final class TestWorker {
    private TestWorker() {
    }

    public static void main(String[] args) {
        Device device = Device.parse(args[0]);
        GrpcSettings settings = GrpcSettings.fromEnvironment(System.getenv(), 1);
        try (Backend backend = new OnnxBackendProvider().open(new BackendOptions(List.of(device),
                Map.of("intraOpThreads", "1")))) {
            GrpcWorker.serve(new GrpcWorker.Options(settings, "127.0.0.1", 0, device, args.length > 2 ? args[2] : null,
                    args.length > 2 ? "test-model" : null, Path.of(args[1]), false, null), backend);
        } catch (RuntimeException e) {
            System.err.println(e.getMessage());
            System.exit(1);
        }
        System.exit(0);
    }
}
