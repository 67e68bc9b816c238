package dev.asyncdiff.onnx.graph.split;

import dev.asyncdiff.api.Device;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * How a denoiser is planned beyond the number of parts and the latent size.
 *
 * @param inputShapes   concrete shapes of the denoiser's inputs at batch 1 (e.g. {@code sample} {@code [1, 4, h, w]},
 *                      {@code encoder_hidden_states} {@code [1, 77, 768]}) that bind the axes the export leaves
 *                      dynamic; the batch axis and the latent input's height and width always come from the
 *                      planner. A dynamic axis bound by neither is an error.
 * @param link          the link the crossing tensors travel over
 * @param flopsPerSecond the rate that turns the FLOP-and-byte cost estimate into seconds on the target device
 * @param measured      measured unit times to balance instead of the estimate, or null
 */
public record SplitOptions(Map<String, long[]> inputShapes, Link link, double flopsPerSecond, UnitCosts measured) {
    /** A nominal rate for a multi-core CPU running ONNX Runtime (cost units per second). */
    public static final double CPU_FLOPS = 1e11;
    /** A nominal rate for a data-centre GPU running fp16 (cost units per second). */
    public static final double GPU_FLOPS = 5e13;

    public SplitOptions {
        if (inputShapes == null || link == null) {
            throw new IllegalArgumentException("split options need input shapes (maybe empty) and a link");
        }
        if (!(flopsPerSecond > 0)) {
            throw new IllegalArgumentException("flopsPerSecond must be positive, was " + flopsPerSecond);
        }
        Map<String, long[]> copy = new TreeMap<>();
        inputShapes.forEach((name, shape) -> {
            for (long dim : shape) {
                if (dim < 1) {
                    throw new IllegalArgumentException("input shape of '" + name + "' must have positive dimensions, was "
                            + Arrays.toString(shape));
                }
            }
            copy.put(name, shape.clone());
        });
        inputShapes = java.util.Collections.unmodifiableMap(copy);
    }

    /** No bindings, the in-process link, the CPU rate, the FLOP estimate. */
    public static SplitOptions defaults() {
        return new SplitOptions(Map.of(), Link.INPROCESS, CPU_FLOPS, null);
    }

    /** Options for components placed on {@code devices}: their default link and rate. */
    public static SplitOptions forDevices(List<Device> devices) {
        boolean cpu = devices.stream().allMatch(Device::isCpu);
        return new SplitOptions(Map.of(), Link.defaultFor(devices), cpu ? CPU_FLOPS : GPU_FLOPS, null);
    }

    /** A copy with these input shapes. */
    public SplitOptions withInputShapes(Map<String, long[]> shapes) {
        return new SplitOptions(shapes, link, flopsPerSecond, measured);
    }

    /** A copy over {@code value}. */
    public SplitOptions withLink(Link value) {
        return new SplitOptions(inputShapes, value, flopsPerSecond, measured);
    }

    /** A copy that balances {@code costs} (null for the FLOP estimate). */
    public SplitOptions withMeasured(UnitCosts costs) {
        return new SplitOptions(inputShapes, link, flopsPerSecond, costs);
    }

    /** A short text that changes whenever the plan could: part of the cache key. */
    String fingerprint() {
        StringBuilder key = new StringBuilder(link.name()).append('|').append(flopsPerSecond);
        inputShapes.forEach((name, shape) -> key.append('|').append(name).append(Arrays.toString(shape)));
        if (measured != null) {
            key.append("|measured:").append(measured.target()).append(measured.secondsPerUnit());
        }
        return key.toString();
    }

    @Override
    public Map<String, long[]> inputShapes() {
        Map<String, long[]> copy = new LinkedHashMap<>();
        inputShapes.forEach((name, shape) -> copy.put(name, shape.clone()));
        return copy;
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder("link ").append(link);
        inputShapes.forEach((name, shape) -> text.append(", ").append(name).append(Arrays.toString(shape)));
        text.append(measured != null ? ", measured on " + measured.target()
                : String.format(Locale.ROOT, ", estimated at %.3g FLOP/s", flopsPerSecond));
        return text.toString();
    }
}
