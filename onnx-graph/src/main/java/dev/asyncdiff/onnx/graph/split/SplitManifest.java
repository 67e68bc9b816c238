package dev.asyncdiff.onnx.graph.split;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * The {@code manifest.json} of a split: where the components came from and, for each, its file,
 * its units, its share of the estimated cost and the tensors it receives and sends. Shapes are
 * given for a batch of one at the latent size the split was planned for; the dimensions listed in
 * {@code dynamicAxes} change with the batch or the image size (components run any batch and size).
 *
 * @param format         always {@value #FORMAT}
 * @param plannerVersion the planner version that cut it (a newer planner re-splits)
 * @param source         the whole model the components were cut from
 * @param sourceHash     SHA-256 of the model file and its external data
 * @param parts          the number of components
 * @param latentHeight   the latent height the costs were estimated for
 * @param latentWidth    the latent width the costs were estimated for
 * @param planning       how the plan was costed (null in manifests written by hand or by older versions)
 * @param components     the components in order
 * @param files          every file of the split but the manifest, with its size and SHA-256, so a damaged
 *                       (truncated, overwritten) split is detected and cut again; null in manifests written
 *                       by hand or before this field, which are checked for presence only
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SplitManifest(String format, int plannerVersion, String source, String sourceHash, int parts,
                            int latentHeight, int latentWidth, Planning planning, List<Component> components,
                            List<FileEntry> files) {
    public static final String FORMAT = "asyncdiff-split";
    public static final String FILE_NAME = "manifest.json";

    public SplitManifest {
        components = List.copyOf(components);
        files = files == null ? null : List.copyOf(files);
    }

    /** A manifest without file digests. */
    public SplitManifest(String format, int plannerVersion, String source, String sourceHash, int parts,
                         int latentHeight, int latentWidth, Planning planning, List<Component> components) {
        this(format, plannerVersion, source, sourceHash, parts, latentHeight, latentWidth, planning, components, null);
    }

    /**
     * One file of a split.
     *
     * @param name   its name, relative to the manifest
     * @param bytes  its size
     * @param sha256 the SHA-256 of its bytes, in lower-case hex
     */
    public record FileEntry(String name, long bytes, String sha256) {
        public FileEntry {
            if (name == null || name.isBlank() || bytes < 0 || sha256 == null || sha256.length() != 64) {
                throw new IllegalArgumentException("a split file entry needs a name, a size >= 0 and a 64-digit "
                        + "SHA-256, got " + name + ", " + bytes + ", " + sha256);
            }
        }
    }

    /**
     * How the plan was costed.
     *
     * @param link                the link the crossing tensors were charged at, e.g. {@code inprocess} or {@code pcie}
     * @param linkGigabytesPerSecond its bandwidth (null for {@code inprocess}, which hands tensors over by reference)
     * @param costSource          {@code estimate} (FLOPs and bytes from shapes) or {@code measured} (calibrated unit times)
     * @param measuredOn          for {@code measured}: the backend and device the units were timed on
     * @param inputShapes         the input shapes at batch 1 that bound the model's dynamic axes
     * @param estimatedStepMillis the slowest component's estimated time per step at batch 1, i.e. the step time
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Planning(String link, Double linkGigabytesPerSecond, String costSource, String measuredOn,
                           java.util.Map<String, long[]> inputShapes, double estimatedStepMillis) {
    }

    /**
     * One component.
     *
     * @param index     its position in the chain
     * @param file      its ONNX file, relative to the manifest
     * @param firstUnit the first unit (block) it runs
     * @param lastUnit  the last unit it runs
     * @param costShare its estimated share of the latent path's cost
     * @param gflops    its estimated giga-operations per step at batch 1
     * @param weightBytes the bytes of initializers it holds
     * @param inputs    what it receives
     * @param outputs   what it sends
     * @param receiveBytes the bytes per step at batch 1 it receives: crossing tensors and, for the first, the latents
     * @param sendBytes    the bytes per step at batch 1 it sends, once per receiving component
     * @param estimatedMillis its estimated time per step at batch 1: compute plus moving what it receives and sends
     * @param cut       for all but the first: {@code block} when the cut before it falls between blocks,
     *                  {@code inside-block} when it falls inside one (taken only when it pays for its traffic)
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Component(int index, String file, String firstUnit, String lastUnit, double costShare,
                            double gflops, long weightBytes, List<Tensor> inputs, List<Tensor> outputs,
                            long receiveBytes, long sendBytes, double estimatedMillis, String cut) {
        public Component {
            inputs = List.copyOf(inputs);
            outputs = List.copyOf(outputs);
        }
    }

    /**
     * A tensor a component receives or sends.
     *
     * @param name          the tensor name (as in the whole model)
     * @param dtype         its element type, e.g. {@code fp32}
     * @param shape         its shape at batch 1 and the planned latent size (null when it could not be inferred)
     * @param dynamicAxes   the axes of {@code shape} that change with the batch or the image size
     * @param bytes         its bytes per step at batch 1 and the planned latent size
     * @param from          for an input: the component that produces it, or null for a model input
     * @param shapeOnly     for an input: true when only its shape is read (any tensor of that shape will do)
     * @param to            for an output: the components that consume it (empty for a model output)
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Tensor(String name, String dtype, long[] shape, int[] dynamicAxes, long bytes, Integer from,
                         Boolean shapeOnly, List<Integer> to) {
        /** The shape with {@code -1} on every dynamic axis, as a {@link dev.asyncdiff.api.TensorSpec} has it. */
        public long[] specShape() {
            if (shape == null) {
                return new long[0];
            }
            long[] spec = shape.clone();
            if (dynamicAxes != null) {
                for (int axis : dynamicAxes) {
                    spec[axis] = -1;
                }
            }
            return spec;
        }
    }
}
