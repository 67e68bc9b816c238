package dev.asyncdiff.onnx.graph.split;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.asyncdiff.api.MalformedModelException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Measured seconds per block-level unit of a denoiser on one device and backend, from
 * {@link Calibrator}: the planner balances these instead of its FLOP estimate. Stored as JSON beside
 * the split cache.
 *
 * @param sourceHash     SHA-256 of the model the units belong to
 * @param plannerVersion the planner version whose units were timed (units change with it)
 * @param latentHeight   the latent height the units were timed at
 * @param latentWidth    the latent width the units were timed at
 * @param target         what they were timed on, e.g. {@code onnx on cpu:0}
 * @param secondsPerUnit median seconds of one run of each unit at batch 1, by unit key, in graph order
 */
public record UnitCosts(String sourceHash, int plannerVersion, int latentHeight, int latentWidth, String target,
                        Map<String, Double> secondsPerUnit) {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public UnitCosts {
        if (sourceHash == null || target == null || secondsPerUnit == null || secondsPerUnit.isEmpty()) {
            throw new IllegalArgumentException("unit costs need a source hash, a target and at least one unit");
        }
        secondsPerUnit = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(secondsPerUnit));
    }

    /** The sum of every unit's seconds. */
    public double totalSeconds() {
        return secondsPerUnit.values().stream().mapToDouble(Double::doubleValue).sum();
    }

    /** Writes this as JSON to {@code file} (atomically: a temporary file renamed into place). */
    public void save(Path file) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Path temp = file.resolveSibling(file.getFileName() + ".tmp-" + ProcessHandle.current().pid());
            JSON.writeValue(temp.toFile(), this);
            Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write unit costs to " + file + ": " + e, e);
        }
    }

    /**
     * Reads unit costs written by {@link #save}.
     *
     * @throws MalformedModelException naming the file when it is not such a file
     */
    public static UnitCosts load(Path file) {
        try {
            return JSON.readValue(file.toFile(), UnitCosts.class);
        } catch (IOException | IllegalArgumentException e) {
            throw new MalformedModelException(file, "not a unit-costs file written by asyncdiff split --calibrate: "
                    + e.getMessage(), e);
        }
    }

    /** Whether these costs were measured for this model, planner and latent size. */
    boolean matches(String hash, int latentH, int latentW) {
        return sourceHash.equals(hash) && plannerVersion == SplitPlanner.VERSION && latentHeight == latentH
                && latentWidth == latentW;
    }
}
