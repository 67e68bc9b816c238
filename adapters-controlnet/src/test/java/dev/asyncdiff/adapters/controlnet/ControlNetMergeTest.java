package dev.asyncdiff.adapters.controlnet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.backend.onnx.OnnxBackendProvider;
import dev.asyncdiff.onnx.graph.OnnxModel;
import dev.asyncdiff.onnx.graph.merge.ControlNetMerge;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.BackendOptions;
import dev.asyncdiff.synthetic.Family;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The merged graph against the pieces it is made of, run in ONNX Runtime: the plain UNet with surgery against the
 * synthetic controlnet UNet (same weights, residual inputs where diffusers adds them), zero scales against the plain
 * UNet, and the scaled sum against each ControlNet run on its own.
 */
class ControlNetMergeTest {
    private static final int LATENT = 8;
    private static final int BATCH = 2;
    private static Backend backend;

    @TempDir
    Path temp;

    @BeforeAll
    static void openBackend() {
        backend = new OnnxBackendProvider().open(new BackendOptions(List.of(Device.CPU), Map.of()));
    }

    @AfterAll
    static void closeBackend() {
        backend.close();
    }

    @Test
    void theSkipsAndTheMidBlockAreFoundWhereTheControlNetUNetTakesItsResiduals() throws IOException {
        Path cn = ControlNetFixtures.controlNet(Family.SD15, 7);
        Inputs in = new Inputs(Family.SD15, 1);
        float[] plain = run(merged(ControlNetFixtures.base(Family.SD15, false), cn), in.merged(1, 0.8f));
        float[] reference = run(merged(ControlNetFixtures.base(Family.SD15, true), cn), in.merged(1, 0.8f));
        float[] without = run(unet(ControlNetFixtures.base(Family.SD15, false)), in.unet());
        assertThat(maxDifference(plain, reference)).isLessThan(1e-5f);
        // the ControlNet changes the prediction: the check above compares something
        assertThat(maxDifference(plain, without)).isGreaterThan(1e-3f);
    }

    @Test
    void zeroScalesGiveThePlainUNetExactly() throws IOException {
        Path cn = ControlNetFixtures.controlNet(Family.SDXL, 7);
        Inputs in = new Inputs(Family.SDXL, 1);
        float[] merged = run(merged(ControlNetFixtures.base(Family.SDXL, false), cn), in.merged(1, 0f));
        float[] plain = run(unet(ControlNetFixtures.base(Family.SDXL, false)), in.unet());
        assertThat(merged).containsExactly(plain);
    }

    @Test
    void twoMergedControlNetsEqualTheirScaledResidualsSummedIntoTheControlNetUNet() throws IOException {
        Path first = ControlNetFixtures.controlNet(Family.SD15, 7);
        Path second = ControlNetFixtures.controlNet(Family.SD15, 8);
        Path base = ControlNetFixtures.base(Family.SD15, false);
        Inputs in = new Inputs(Family.SD15, 2);
        Map<String, Tensor> mergedInputs = in.merged(2, 0.5f);
        float[] merged = run(merged(base, first, second), mergedInputs);

        Map<String, Tensor> unetInputs = new HashMap<>(in.unet());
        float[][] sums = null;
        Map<String, long[]> shapes = new java.util.LinkedHashMap<>();
        for (int j = 0; j < 2; j++) {
            Path unitScale = temp.resolve("unit-" + j + ".onnx");
            ControlNetMerge.withUnitScale(OnnxModel.load(ControlNetModel.open(j == 0 ? first : second).modelFile()))
                    .write(unitScale);
            Map<String, Tensor> cnInputs = new HashMap<>(in.unet());
            cnInputs.put("controlnet_cond", in.image(j));
            try (InferenceSession session = backend.load(unitScale, Device.CPU);
                 NamedTensors residuals = session.run(cnInputs)) {
                int count = residuals.size();
                if (sums == null) {
                    sums = new float[count][];
                }
                for (int i = 0; i < count; i++) {
                    String name = i < count - 1 ? ControlNetMerge.downResidual(i) : ControlNetMerge.MID_RESIDUAL;
                    float[] r = residuals.get(name).toFloatArray();
                    float scale = mergedInputs.get(ControlNetMerge.scalesInput(j)).toFloatArray()[i];
                    if (sums[i] == null) {
                        sums[i] = new float[r.length];
                        shapes.put(name, residuals.get(name).shape());
                    }
                    for (int k = 0; k < r.length; k++) {
                        sums[i][k] += r[k] * scale;
                    }
                }
            }
        }
        int i = 0;
        for (Map.Entry<String, long[]> shape : shapes.entrySet()) {
            unetInputs.put(shape.getKey(), Tensor.ofFloats(sums[i++], shape.getValue()));
        }
        Path residualUnet = temp.resolve("residual-unet.onnx");
        OnnxModel plain = OnnxModel.load(base.resolve("unet/model.onnx"));
        ControlNetMerge.withResidualInputs(plain, OnnxModel.load(ControlNetModel.open(first).modelFile()))
                .write(residualUnet);
        float[] alongside = run(residualUnet, unetInputs);
        assertThat(maxDifference(merged, alongside)).isLessThan(1e-5f);
    }

    @Test
    void aControlNetOfAnotherFamilyIsAClearError() {
        OnnxModel sd15 = OnnxModel.load(ControlNetFixtures.base(Family.SD15, false).resolve("unet/model.onnx"));
        OnnxModel sdxlNet = OnnxModel.load(ControlNetFixtures.controlNet(Family.SDXL, 7).resolve("model.onnx"));
        assertThatThrownBy(() -> ControlNetMerge.merge(sd15, List.of(new ControlNetMerge.ControlNet(sdxlNet, false))))
                .isInstanceOf(MalformedModelException.class)
                .hasMessageContaining("skip connections");
        assertThatThrownBy(() -> ControlNetMerge.merge(sd15, List.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least one ControlNet");
    }

    /** The merged graph of {@code base}'s UNet and {@code controlNets}, written under the test's folder. */
    private Path merged(Path base, Path... controlNets) {
        Path file = temp.resolve("merged-" + System.nanoTime() + ".onnx");
        List<ControlNetMerge.ControlNet> nets = java.util.Arrays.stream(controlNets)
                .map(c -> new ControlNetMerge.ControlNet(OnnxModel.load(c.resolve("model.onnx")), false)).toList();
        ControlNetMerge.merge(OnnxModel.load(base.resolve("unet/model.onnx")), nets).write(file);
        return file;
    }

    private static Path unet(Path base) {
        return base.resolve("unet/model.onnx");
    }

    private static float[] run(Path model, Map<String, Tensor> inputs) {
        try (InferenceSession session = backend.load(model, Device.CPU)) {
            Map<String, Tensor> used = new HashMap<>();
            session.inputs().forEach(spec -> used.put(spec.name(), inputs.get(spec.name())));
            try (NamedTensors out = session.run(used)) {
                return out.get(session.outputs().get(0).name()).toFloatArray();
            }
        }
    }

    static float maxDifference(float[] a, float[] b) {
        assertThat(a).hasSameSizeAs(b);
        float max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    /** Seeded inputs of a tiny family at an 8×8 latent, batch 2. */
    private static final class Inputs {
        private final Map<String, Tensor> unet = new HashMap<>();
        private final List<Tensor> images = new java.util.ArrayList<>();
        private final int residuals;

        Inputs(Family family, int controlNets) throws IOException {
            Path base = ControlNetFixtures.base(family, false);
            JsonNode config = new ObjectMapper().readTree(base.resolve("unet/config.json").toFile());
            SplittableRandom rng = new SplittableRandom(11);
            int factor = 8;
            unet.put("sample", gaussian(rng, BATCH, 4, LATENT, LATENT));
            unet.put("timestep", Tensor.scalar(601));
            unet.put("encoder_hidden_states", gaussian(rng, BATCH, 77, config.path("cross_attention_dim").asInt()));
            if (family == Family.SDXL) {
                unet.put("text_embeds", gaussian(rng, BATCH, config.path("projection_class_embeddings_input_dim")
                        .asInt() - 6 * config.path("addition_time_embed_dim").asInt()));
                unet.put("time_ids", Tensor.ofFloats(new float[] {64, 64, 0, 0, 64, 64, 64, 64, 0, 0, 64, 64}, BATCH, 6));
            }
            for (int j = 0; j < controlNets; j++) {
                float[] pixels = new float[BATCH * 3 * LATENT * factor * LATENT * factor];
                for (int k = 0; k < pixels.length; k++) {
                    pixels[k] = rng.nextInt(2);
                }
                images.add(Tensor.ofFloats(pixels, BATCH, 3, LATENT * factor, LATENT * factor));
            }
            residuals = ControlNetMerge.residualCount(OnnxModel.load(ControlNetFixtures.controlNet(family, 7)
                    .resolve("model.onnx")));
        }

        Map<String, Tensor> unet() {
            return unet;
        }

        Tensor image(int j) {
            return images.get(j);
        }

        /** The merged graph's inputs: each ControlNet at a scale rising with the residual, from {@code scale}. */
        Map<String, Tensor> merged(int controlNets, float scale) {
            Map<String, Tensor> in = new HashMap<>(unet);
            for (int j = 0; j < controlNets; j++) {
                in.put(ControlNetMerge.condInput(j), images.get(j));
                float[] scales = new float[BATCH * residuals];
                for (int i = 0; i < scales.length; i++) {
                    scales[i] = scale * (1 + 0.1f * (i % residuals) + 0.3f * j);
                }
                in.put(ControlNetMerge.scalesInput(j), Tensor.ofFloats(scales, BATCH, residuals));
            }
            return in;
        }

        private static Tensor gaussian(SplittableRandom rng, long... shape) {
            long count = 1;
            for (long d : shape) {
                count *= d;
            }
            float[] values = new float[(int) count];
            for (int i = 0; i < values.length; i++) {
                double u = rng.nextDouble();
                double v = rng.nextDouble();
                values[i] = (float) (Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v));
            }
            return Tensor.ofFloats(values, shape);
        }
    }
}
