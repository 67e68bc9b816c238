package dev.asyncdiff.backend.tensorrt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.backend.onnx.OnnxBackendProvider;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.split.GraphSplitter;
import dev.asyncdiff.onnx.graph.split.SplitManifest;
import dev.asyncdiff.onnx.graph.split.SplitOptions;
import dev.asyncdiff.onnx.graph.split.SplitResult;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.BackendOptions;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.synthetic.Scale;
import dev.asyncdiff.synthetic.SyntheticModels;
import dev.asyncdiff.synthetic.TokenizerKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.Loader;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On a GPU host built with {@code -Ptensorrt}: the components of a split synthetic UNet built into
 * TensorRT engines and chained on one GPU (device-resident outputs fed in place) reproduce the whole
 * UNet on ONNX Runtime's CPU, and a second load reuses the cached engines. Skipped, with a message,
 * everywhere else.
 */
class TensorRtGpuTest {
    private static final int LATENT = 32;

    @TempDir
    Path dir;

    /** Whether TensorRT's and CUDA's natives load and a CUDA device is present. */
    static boolean nativesLoad() {
        try {
            Loader.load(cudart.class);
            Loader.load(org.bytedeco.tensorrt.global.nvinfer.class);
            int[] count = new int[1];
            return cudart.cudaGetDeviceCount(count) == 0 && count[0] > 0;
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            return false;
        }
    }

    @Test
    void splitComponentsOnTensorRtReproduceTheWholeUNet() throws Exception {
        Assumptions.assumeTrue(nativesLoad(), "no TensorRT natives or no CUDA device here (build with -Ptensorrt on a "
                + "GPU host); skipping");
        Path folder = SyntheticModels.write(Family.SD15, Scale.TINY, DType.FP32, 3, TokenizerKind.BPE,
                dir.resolve("sd15")).directory();
        SplitResult split = new GraphSplitter(dir.resolve("cache")).split(folder, 2, LATENT, LATENT,
                dir.resolve("split"), ExternalDataPolicy.AUTO, SplitOptions.defaults());
        Map<String, Tensor> modelInputs = modelInputs(split.manifest());
        float[] expected;
        try (Backend cpu = new OnnxBackendProvider().open(BackendOptions.defaults());
             InferenceSession whole = cpu.load(folder.resolve("unet").resolve("model.onnx"), Device.CPU);
             NamedTensors out = whole.run(modelInputs)) {
            expected = out.get(whole.outputs().get(0).name()).toFloatArray();
        }
        Map<String, String> options = Map.of("engineCache", dir.resolve("engines").toString());
        for (int attempt = 0; attempt < 2; attempt++) {
            try (Backend gpu = new TensorRtBackendProvider().open(new BackendOptions(List.of(Device.cuda(0)), options))) {
                float[] actual = chain(gpu, split, modelInputs);
                assertThat(maxAbsDiff(expected, actual)).as("attempt %d", attempt).isLessThanOrEqualTo(1e-3f);
            }
            try (var engines = Files.list(dir.resolve("engines"))) {
                assertThat(engines.filter(p -> p.toString().endsWith(".engine")).count()).isEqualTo(2);
            }
        }
        modelInputs.values().forEach(Tensor::close);
    }

    private static float[] chain(Backend gpu, SplitResult split, Map<String, Tensor> modelInputs) {
        Map<String, Tensor> available = new HashMap<>(modelInputs);
        List<Tensor> produced = new java.util.ArrayList<>();
        float[] last = null;
        try {
            for (SplitManifest.Component component : split.manifest().components()) {
                try (InferenceSession session = gpu.load(split.directory().resolve(component.file()), Device.cuda(0))) {
                    Map<String, Tensor> feed = new LinkedHashMap<>();
                    session.inputs().forEach(spec -> feed.put(spec.name(), available.get(spec.name())));
                    NamedTensors out = session.run(feed);
                    for (String name : List.copyOf(out.names())) {
                        Tensor tensor = out.take(name);
                        assertThat(tensor.isHostResident()).as("%s stays on the GPU", name).isFalse();
                        produced.add(tensor);
                        available.put(name, tensor);
                    }
                    String output = session.outputs().get(session.outputs().size() - 1).name();
                    try (Tensor host = available.get(output).toHost()) {
                        last = host.toFloatArray();
                    }
                }
            }
            return last;
        } finally {
            produced.forEach(Tensor::close);
        }
    }

    private static Map<String, Tensor> modelInputs(SplitManifest manifest) {
        SplittableRandom random = new SplittableRandom(9);
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        for (SplitManifest.Component component : manifest.components()) {
            for (SplitManifest.Tensor input : component.inputs()) {
                if (input.from() != null || inputs.containsKey(input.name())) {
                    continue;
                }
                long count = java.util.Arrays.stream(input.shape()).reduce(1, Math::multiplyExact);
                float[] values = new float[Math.toIntExact(count)];
                for (int i = 0; i < values.length; i++) {
                    values[i] = input.name().equals("timestep") ? 421f : (float) random.nextGaussian();
                }
                inputs.put(input.name(), Tensor.ofFloats(values, input.shape()));
            }
        }
        return inputs;
    }

    private static float maxAbsDiff(float[] a, float[] b) {
        assertThat(b).hasSameSizeAs(a);
        float max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}
