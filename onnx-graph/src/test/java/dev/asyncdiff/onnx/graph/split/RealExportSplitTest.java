package dev.asyncdiff.onnx.graph.split;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Splits the real exports in {@code ../shared/data/real-exports} (torch 1.13 exports of diffusers UNets in
 * Optimum's layout, int64 timestep, dynamic channel and sequence axes); skipped where that folder is absent.
 */
class RealExportSplitTest {
    private static final int LATENT = 32;
    private static final int TOKENS = 77;

    @TempDir
    Path dir;

    private static Path export(String family) {
        String shared = System.getProperty("asyncdiff.shared.dir", "../shared");
        Path unet = Path.of(shared, "data", "real-exports", family, "unet", "model.onnx");
        Assumptions.assumeTrue(Files.isRegularFile(unet), "no real export at " + unet
                + " (../shared is absent in a user's clone); skipping");
        return unet;
    }

    /** The input shapes the folder's configs give (what the sd adapter passes). */
    private static Map<String, long[]> shapes(String family) {
        Map<String, long[]> shapes = new HashMap<>();
        shapes.put("sample", new long[] {1, 4, LATENT, LATENT});
        shapes.put("encoder_hidden_states", new long[] {1, TOKENS, family.equals("sdxl") ? 64 : 32});
        if (family.equals("sdxl")) {
            shapes.put("text_embeds", new long[] {1, 32});
            shapes.put("time_ids", new long[] {1, 6});
        }
        return shapes;
    }

    private static Map<String, ComponentChain.Input> inputs(String family, int batch) {
        SplittableRandom random = new SplittableRandom(11);
        Map<String, ComponentChain.Input> inputs = new HashMap<>();
        shapes(family).forEach((name, shape) -> {
            long[] batched = shape.clone();
            batched[0] = batch;
            float[] values = new float[Math.toIntExact(java.util.Arrays.stream(batched).reduce(1, (a, b) -> a * b))];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) random.nextGaussian();
            }
            inputs.put(name, new ComponentChain.Input(values, batched));
        });
        inputs.put("timestep", new ComponentChain.Input(new float[batch], new long[] {batch}));
        java.util.Arrays.fill(inputs.get("timestep").values(), 421f);
        return inputs;
    }

    private SplitResult split(String family, int parts, Link link) {
        return new GraphSplitter(dir.resolve("cache")).split(export(family), parts, LATENT, LATENT, null,
                dev.asyncdiff.onnx.graph.ExternalDataPolicy.AUTO,
                SplitOptions.defaults().withInputShapes(shapes(family)).withLink(link));
    }

    @ParameterizedTest(name = "{0} N={1}")
    @CsvSource({"sd15,1", "sd15,2", "sd15,3", "sd15,4", "sdxl,1", "sdxl,2", "sdxl,3", "sdxl,4"})
    void componentsChainedOnOneDeviceReproduceTheWholeUNet(String family, int parts) throws Exception {
        SplitResult split = split(family, parts, Link.INPROCESS);
        Map<String, ComponentChain.Input> inputs = inputs(family, 2);
        float[] whole = ComponentChain.run(export(family), inputs).get("out_sample");
        float[] chained = ComponentChain.chain(split, inputs).get("out_sample");
        assertThat(chained).hasSameSizeAs(whole);
        double worst = 0;
        for (int i = 0; i < whole.length; i++) {
            worst = Math.max(worst, Math.abs(whole[i] - chained[i]));
        }
        assertThat(worst).as("max |diff| of %s split in %d", family, parts).isLessThanOrEqualTo(1e-5);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"sd15,32", "sdxl,64"})
    void thePlanCarriesTheTrueShapesAndDynamicAxes(String family, int crossDim) {
        SplitManifest.Component first = split(family, 2, Link.INPROCESS).manifest().components().get(0);
        SplitManifest.Tensor sample = tensor(first.inputs(), "sample");
        assertThat(sample.shape()).containsExactly(1, 4, LATENT, LATENT);
        assertThat(sample.bytes()).isEqualTo(4L * 4 * LATENT * LATENT);
        assertThat(sample.dynamicAxes()).containsExactly(0, 2, 3);
        SplitManifest.Tensor context = tensor(first.inputs(), "encoder_hidden_states");
        assertThat(context.shape()).containsExactly(1, TOKENS, crossDim);
        assertThat(context.dynamicAxes()).as("batch and the export's dynamic sequence axis").containsExactly(0, 1);
        SplitManifest.Tensor timestep = tensor(first.inputs(), "timestep");
        assertThat(timestep.dtype()).isEqualTo("int64");
        assertThat(first.receiveBytes()).as("the latents the first component receives").isEqualTo(sample.bytes());
    }

    @ParameterizedTest(name = "{0} N={1}")
    @CsvSource({"sd15,2", "sd15,3", "sd15,4", "sdxl,2", "sdxl,3", "sdxl,4"})
    void noCutFallsInsideAnAttentionAtTheDefaultLink(String family, int parts) {
        for (SplitManifest.Component component : split(family, parts, Link.INPROCESS).manifest().components()) {
            for (String unit : List.of(component.firstUnit(), component.lastUnit())) {
                assertThat(unit).as("component %d of %s N=%d", component.index(), family, parts)
                        .doesNotContainPattern("/attn\\d*/");
            }
        }
    }

    @ParameterizedTest(name = "{0} N={1}")
    @CsvSource({"sd15,2", "sd15,3", "sdxl,2", "sdxl,3", "sdxl,4"})
    void theLargestShareIsWithinFifteenPercentOfAnEvenSplit(String family, int parts) {
        double largest = split(family, parts, Link.INPROCESS).manifest().components().stream()
                .mapToDouble(SplitManifest.Component::costShare).max().orElseThrow();
        assertThat(largest).isLessThanOrEqualTo(1.15 / parts);
    }

    /**
     * SD 1.5's tiny export spends most of its time in five self-attentions at 32×32, none of which may be
     * cut through: at N = 4 two of them must share a component, so 1.15 / N cannot be reached. Proved here
     * against the optimum itself: every unit refined as far as the planner may (attentions whole), the
     * exact min-max partition of those pieces is above 1.15 / 4, and the planner's plan is within 1 % of it.
     */
    @ParameterizedTest(name = "sd15 N=4")
    @CsvSource("sd15,4")
    void sd15AtFourPartsReachesTheBoundItsIndivisibleSelfAttentionsSet(String family, int parts) {
        SplitOptions options = SplitOptions.defaults().withInputShapes(shapes(family)).withLink(Link.INPROCESS);
        SplitPlanner.Analysis analysis = SplitPlanner.analyse(new GraphIndex(
                dev.asyncdiff.onnx.graph.OnnxModel.load(export(family))), LATENT, LATENT, options);
        List<SplitPlanner.Unit> finest = SplitPlanner.blockUnits(analysis);
        for (List<SplitPlanner.Unit> finer; (finer = SplitPlanner.refineLargest(analysis, finest)) != null; ) {
            finest = finer;
        }
        assertThat(finest).as("attentions stay whole").noneMatch(u -> u.key().matches(".*/attn\\d*/.+"));
        double total = finest.stream().mapToDouble(SplitPlanner.Unit::seconds).sum();
        double optimum = SplitPlanner.partition(analysis, finest, parts, Link.INPROCESS).stream()
                .mapToDouble(group -> group.stream().mapToDouble(SplitPlanner.Unit::seconds).sum()).max()
                .orElseThrow() / total;
        assertThat(optimum).as("best possible largest share").isGreaterThan(1.15 / parts);

        SplitManifest manifest = split(family, parts, Link.INPROCESS).manifest();
        double largest = manifest.components().stream().mapToDouble(SplitManifest.Component::costShare).max()
                .orElseThrow();
        assertThat(largest).as("the plan's largest share against the optimum %.4f", optimum)
                .isLessThanOrEqualTo(optimum * 1.01);
        assertThat(manifest.components()).anySatisfy(c -> assertThat(c.cut()).isEqualTo("inside-block"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"sdxl", "sd15"})
    void aSlowLinkTradesBalanceForLessTraffic(String family) {
        SplitManifest fast = split(family, 3, Link.INPROCESS).manifest();
        SplitManifest slow = split(family, 3, Link.parse("0.001")).manifest();
        assertThat(slow.planning().link()).isEqualTo("0.001GB/s");
        assertThat(maxTraffic(slow)).isLessThan(maxTraffic(fast));
        for (SplitManifest.Component c : slow.components()) {
            double trafficMillis = 1e3 * (c.receiveBytes() + c.sendBytes()) / 1e6;
            assertThat(c.estimatedMillis()).isGreaterThanOrEqualTo(trafficMillis - 1e-3);
        }
        assertThat(slow.planning().estimatedStepMillis()).isEqualTo(slow.components().stream()
                .mapToDouble(SplitManifest.Component::estimatedMillis).max().orElseThrow());
    }

    private static long maxTraffic(SplitManifest manifest) {
        return manifest.components().stream().mapToLong(c -> c.receiveBytes() + c.sendBytes()).max().orElseThrow();
    }

    private static SplitManifest.Tensor tensor(List<SplitManifest.Tensor> tensors, String name) {
        return tensors.stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow();
    }
}
