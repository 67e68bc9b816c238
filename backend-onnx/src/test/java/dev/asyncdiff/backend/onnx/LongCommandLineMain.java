package dev.asyncdiff.backend.onnx;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.spi.BackendOptions;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Started as a process of its own by {@link LongCommandLineTest}: opens the backend and loads the model
 * in {@code args[0]} while {@code args[1]} makes the command line long, then prints {@code loaded}.
 */
public final class LongCommandLineMain {
    private LongCommandLineMain() {
    }

    public static void main(String[] args) {
        try (OnnxBackend backend = new OnnxBackend(new BackendOptions(List.of(Device.parse("cpu:0")), Map.of()));
             InferenceSession session = backend.load(Path.of(args[0]), Device.parse("cpu:0"))) {
            System.out.println("loaded " + session.inputs().size() + " input(s); argument of " + args[1].length()
                    + " characters");
        }
    }
}
