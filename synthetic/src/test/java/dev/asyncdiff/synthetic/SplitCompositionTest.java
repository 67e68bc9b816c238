package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.split.ComponentChain;
import dev.asyncdiff.onnx.graph.split.GraphSplitter;
import dev.asyncdiff.onnx.graph.split.SplitManifest;
import dev.asyncdiff.onnx.graph.split.SplitResult;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** The splitter on the synthetic UNets of every family: the chained components reproduce the whole UNet. */
class SplitCompositionTest {
    private static final int LATENT_H = 8;
    private static final int LATENT_W = 16;

    @TempDir
    static Path dir;

    private static Path unet(Family family) {
        Path file = dir.resolve(family.name() + "/unet/model.onnx");
        if (!file.toFile().exists()) {
            UNetGraph.build(FamilyPreset.of(family, Scale.TINY).unet(), new Weights(42), DType.FP32)
                    .write(file, ExternalDataPolicy.AUTO);
        }
        return file;
    }

    static Stream<Arguments> familiesAndParts() {
        return Stream.of(Family.values()).filter(f -> !f.hasTransformer() && !f.video()).flatMap(f -> Stream.of(1, 2, 3, 4).map(n -> Arguments.of(f, n)));
    }

    private static Map<String, ComponentChain.Input> inputs(Family family, int batch) {
        UNetConfig cfg = FamilyPreset.of(family, Scale.TINY).unet();
        SplittableRandom random = new SplittableRandom(batch * 31L + family.ordinal());
        Map<String, ComponentChain.Input> in = new HashMap<>();
        in.put("sample", gaussian(random, batch, cfg.inChannels(), LATENT_H, LATENT_W));
        in.put("timestep", new ComponentChain.Input(new float[] {621f}, new long[0]));
        in.put("encoder_hidden_states", gaussian(random, batch, cfg.sequenceLength(), cfg.crossAttentionDim()));
        if (family.base() == Family.SDXL) {
            in.put("text_embeds", gaussian(random, batch, cfg.textEmbedsDim()));
            float[] timeIds = new float[batch * UNetConfig.TIME_IDS];
            for (int i = 0; i < timeIds.length; i++) {
                timeIds[i] = new float[] {1024, 1024, 0, 0, 1024, 1024}[i % UNetConfig.TIME_IDS];
            }
            in.put("time_ids", new ComponentChain.Input(timeIds, new long[] {batch, UNetConfig.TIME_IDS}));
        }
        if (cfg.hasClassEmbedding()) {
            float[] noiseLevels = new float[batch];   // int64 in the model: ComponentChain converts
            for (int i = 0; i < batch; i++) {
                noiseLevels[i] = 20 + 330 * i;
            }
            in.put("class_labels", new ComponentChain.Input(noiseLevels, new long[] {batch}));
        }
        return in;
    }

    private static ComponentChain.Input gaussian(SplittableRandom random, long... shape) {
        long count = 1;
        for (long dim : shape) {
            count *= dim;
        }
        float[] values = new float[(int) count];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        return new ComponentChain.Input(values, shape);
    }

    @ParameterizedTest(name = "{0} in {1} components")
    @MethodSource("familiesAndParts")
    void componentsChainedInOrderReproduceTheWholeUNet(Family family, int parts) throws Exception {
        Path unet = unet(family);
        SplitResult split = new GraphSplitter(dir.resolve("cache")).split(unet, parts, LATENT_H, LATENT_W, null,
                ExternalDataPolicy.AUTO);
        assertThat(split.manifest().components()).hasSize(parts);
        Map<String, ComponentChain.Input> in = inputs(family, 2);
        float[] whole = ComponentChain.run(unet, in).get("out_sample");
        float[] chained = ComponentChain.chain(split, in).get("out_sample");
        assertThat(chained).hasSameSizeAs(whole);
        double max = 0;
        for (int i = 0; i < whole.length; i++) {
            max = Math.max(max, Math.abs(whole[i] - chained[i]));
        }
        assertThat(max).as("max |chained - whole| for %s, N=%d", family, parts).isLessThanOrEqualTo(1e-5);
    }

    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"SD3", "SVD", "ANIMATEDIFF"}, mode = EnumSource.Mode.EXCLUDE) // image UNets; SD 3, video: own tests
    void cutsBalanceTheEstimatedCost(Family family) {
        for (int parts = 2; parts <= 4; parts++) {
            SplitResult split = new GraphSplitter(dir.resolve("cache")).split(unet(family), parts, LATENT_H, LATENT_W,
                    null, ExternalDataPolicy.AUTO);
            double slowest = split.manifest().components().stream().mapToDouble(SplitManifest.Component::costShare)
                    .max().orElseThrow();
            assertThat(slowest).as("slowest share of %s in %d parts", family, parts).isLessThanOrEqualTo(1.15 / parts);
            for (SplitManifest.Component component : split.manifest().components()) {
                assertThat(component.inputs()).filteredOn(t -> t.from() != null)
                        .allSatisfy(t -> assertThat(t.name()).doesNotContain("time_embedding")
                                .doesNotContain("add_embedding").doesNotContain("time_proj"));
                assertThat(component.inputs()).extracting(SplitManifest.Tensor::name).contains("timestep");
                if (family.upscaler()) {
                    assertThat(component.inputs()).as("each component embeds the noise level itself")
                            .filteredOn(t -> t.from() != null).noneMatch(t -> t.name().contains("class_embedding"));
                    assertThat(component.inputs()).extracting(SplitManifest.Tensor::name).contains("class_labels");
                }
            }
        }
    }
}
