package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.split.ComponentChain;
import dev.asyncdiff.onnx.graph.split.GraphSplitter;
import dev.asyncdiff.onnx.graph.split.SplitManifest;
import dev.asyncdiff.onnx.graph.split.SplitOptions;
import dev.asyncdiff.onnx.graph.split.SplitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The splitter on the synthetic SD 3 transformer: it cuts between joint transformer blocks, only the
 * image and text streams cross a cut, and the chained components reproduce the whole transformer.
 */
class Sd3SplitTest {
    private static final int LATENT_H = 8;
    private static final int LATENT_W = 12;
    /** The text length the split is planned for (the components keep that axis dynamic). */
    private static final int PLANNED_TEXT_TOKENS = 77;
    /** 77 CLIP tokens and 256 T5 tokens, what the SD 3 pipeline feeds. */
    private static final int SD3_TEXT_TOKENS = 333;
    private static final Pattern BLOCK_BOUNDARY = Pattern.compile("transformer_blocks\\.\\d+");

    /** The text stream's shape at batch 1, which binds the transformer's dynamic sequence axis. */
    private static final SplitOptions OPTIONS = SplitOptions.defaults().withInputShapes(Map.of("encoder_hidden_states",
            new long[] {1, PLANNED_TEXT_TOKENS, FamilyPreset.of(Family.SD3, Scale.TINY).transformer().jointAttentionDim()}));

    @TempDir
    static Path dir;

    static Path transformer;

    @BeforeAll
    static void write() {
        transformer = dir.resolve("transformer/model.onnx");
        Sd3TransformerGraph.build(FamilyPreset.of(Family.SD3, Scale.TINY).transformer(), new Weights(42), DType.FP32)
                .write(transformer, ExternalDataPolicy.AUTO);
    }

    private static Map<String, ComponentChain.Input> inputs(int batch, int textTokens) {
        Sd3TransformerConfig cfg = FamilyPreset.of(Family.SD3, Scale.TINY).transformer();
        SplittableRandom random = new SplittableRandom(batch * 17L);
        Map<String, ComponentChain.Input> in = new HashMap<>();
        in.put("hidden_states", gaussian(random, batch, cfg.inChannels(), LATENT_H, LATENT_W));
        in.put("encoder_hidden_states", gaussian(random, batch, textTokens, cfg.jointAttentionDim()));
        in.put("pooled_projections", gaussian(random, batch, cfg.pooledProjectionDim()));
        float[] timesteps = new float[batch];
        for (int i = 0; i < batch; i++) {
            timesteps[i] = 700f - 100 * i;
        }
        in.put("timestep", new ComponentChain.Input(timesteps, new long[] {batch}));
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

    @ParameterizedTest(name = "N = {0}")
    @ValueSource(ints = {1, 2, 3, 4})
    void componentsChainedInOrderReproduceTheWholeTransformer(int parts) throws Exception {
        SplitResult split = new GraphSplitter(dir.resolve("cache")).split(transformer, parts, LATENT_H, LATENT_W, null,
                ExternalDataPolicy.AUTO, OPTIONS);
        assertThat(split.manifest().components()).hasSize(parts);
        for (int batch : new int[] {1, 2}) {
            assertChainedEqualsWhole(split, inputs(batch, PLANNED_TEXT_TOKENS), parts);
        }
    }

    /** A split planned for 77 text tokens runs SD 3's 77 + 256: the text stream's length stays dynamic. */
    @ParameterizedTest(name = "N = {0}")
    @ValueSource(ints = {2, 3, 4})
    void textOfSd3sLengthCrossesACut(int parts) throws Exception {
        SplitResult split = new GraphSplitter(dir.resolve("cache")).split(transformer, parts, LATENT_H, LATENT_W, null,
                ExternalDataPolicy.AUTO, OPTIONS);
        assertChainedEqualsWhole(split, inputs(2, SD3_TEXT_TOKENS), parts);
    }

    private static void assertChainedEqualsWhole(SplitResult split, Map<String, ComponentChain.Input> in, int parts)
            throws Exception {
        int batch = (int) in.get("hidden_states").shape()[0];
        float[] whole = ComponentChain.run(transformer, in).get("out_hidden_states");
        float[] chained = ComponentChain.chain(split, in).get("out_hidden_states");
        assertThat(chained).hasSameSizeAs(whole);
        double max = 0;
        for (int i = 0; i < whole.length; i++) {
            max = Math.max(max, Math.abs(whole[i] - chained[i]));
        }
        assertThat(max).as("max |chained - whole| for N=%d, batch %d", parts, batch).isLessThanOrEqualTo(1e-5);
    }

    @ParameterizedTest(name = "N = {0}")
    @ValueSource(ints = {2, 3, 4})
    void cutsFallBetweenBlocksAndOnlyTheTwoStreamsCross(int parts) {
        SplitResult split = new GraphSplitter(dir.resolve("cache")).split(transformer, parts, LATENT_H, LATENT_W, null,
                ExternalDataPolicy.AUTO, OPTIONS);
        List<SplitManifest.Component> components = split.manifest().components();
        for (int i = 0; i < components.size(); i++) {
            SplitManifest.Component component = components.get(i);
            if (i > 0) {
                assertThat(component.firstUnit()).as("component %d starts a block", i).matches(BLOCK_BOUNDARY);
            }
            if (i < components.size() - 1) {
                assertThat(component.lastUnit()).as("component %d ends a block", i).matches(BLOCK_BOUNDARY);
            }
            List<SplitManifest.Tensor> crossing = component.inputs().stream().filter(t -> t.from() != null).toList();
            if (i > 0) {
                assertThat(crossing).as("tensors component %d receives", i).hasSize(2)
                        .allSatisfy(t -> assertThat(t.name()).contains("transformer_blocks."));
                assertThat(crossing).extracting(t -> t.shape()[2])
                        .as("an image stream and a text stream of the residual width")
                        .containsOnly((long) FamilyPreset.of(Family.SD3, Scale.TINY).transformer().innerDim());
            }
            assertThat(component.inputs()).extracting(SplitManifest.Tensor::name).contains("timestep");
        }
        assertThat(Files.exists(split.manifestFile())).isTrue();
    }
}
