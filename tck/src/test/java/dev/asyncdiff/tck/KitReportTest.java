package dev.asyncdiff.tck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.NodeList;

class KitReportTest {
    private static final String ASYNC = "text-to-image N=2 stride=1 async";
    private static final String BAD = "text-to-image N=2 stride=1 known-bad <x> & 'y'";

    private final KitReport report = new KitReport("sd", "/models/x", List.of(
            new CheckResult(Check.SPLIT_EXACTNESS, CheckResult.Status.PASSED, "fine", Map.of("N=2 error", 1.5e-7)),
            new CheckResult(Check.CLOSENESS, CheckResult.Status.FAILED, "N=2 stride=1: error | too big", Map.of())));

    private final KitReport withCurves = new KitReport("sd <3>", "/models/a&b", List.of(
            new CheckResult(Check.SPLIT_EXACTNESS, CheckResult.Status.PASSED, "fine", Map.of("N=2 error", 1.5e-7)),
            new CheckResult(Check.CLOSENESS, CheckResult.Status.FAILED, "too far: <b>&", Map.of("max", 0.5),
                    curves(ASYNC, List.of(0.0, 0.01, 0.03), BAD, List.of(0.0, 0.2, Double.NaN)))));

    @Test
    void jsonNamesEveryCheckWithItsFigures() throws Exception {
        JsonNode json = new ObjectMapper().readTree(report.toJson());
        assertThat(json.get("passed").asBoolean()).isFalse();
        assertThat(json.get("checks")).hasSize(2);
        assertThat(json.get("checks").get(0).get("check").asText()).isEqualTo("split-exactness");
        assertThat(json.get("checks").get(0).get("figures").get("N=2 error").asDouble()).isEqualTo(1.5e-7);
        assertThat(json.get("checks").get(1).get("status").asText()).isEqualTo("failed");
    }

    @Test
    void markdownIsATableWithEscapedCells() {
        assertThat(report.toMarkdown()).contains("| split-exactness | passed | fine |")
                .contains("| closeness | failed | N=2 stride=1: error \\| too big |").contains("**failed**")
                .contains("| N=2 error | 1.50000e-07 |");
    }

    @Test
    void htmlIsEscapedAndDrawsEachChecksCurves() throws Exception {
        String html = withCurves.toHtml();
        assertThat(html).startsWith("<!DOCTYPE html>").contains("<title>AsyncDiff compatibility kit: sd &lt;3&gt; — failed")
                .contains("<code>/models/a&amp;b</code>")
                .contains("<td>closeness</td><td class=\"failed\">failed</td><td>too far: &lt;b&gt;&amp;</td>")
                .contains("<td class=\"passed\">passed</td>").doesNotContain("<b>&").doesNotContain("<script")
                .contains("<td>N=2 error</td><td class=\"num\">1.50000e-07</td>")
                .contains("<tr><th>curve</th><th>1</th><th>2</th><th>3</th></tr>")
                .contains("<tr><th>" + ASYNC + "</th><td class=\"num\">0.00</td><td class=\"num\">0.0100</td>"
                        + "<td class=\"num\">0.0300</td></tr>")
                .contains("<tr><th>text-to-image N=2 stride=1 known-bad &lt;x&gt; &amp; &#39;y&#39;</th><td class=\"num\">0.00")
                .contains("<td class=\"num\">NaN</td>").doesNotContain("<x>").doesNotContain("'y'");
        // Only the check with curves gets a chart, with one line and one legend entry per curve.
        assertThat(count(html, "<svg")).isEqualTo(1);
        assertThat(count(html, "<polyline")).isEqualTo(2);
        assertThat(html).contains(">" + ASYNC + "</text>")
                .contains(">text-to-image N=2 stride=1 known-bad &lt;x&gt; &amp; &#39;y&#39;</text>");
    }

    @Test
    void markdownEmbedsTheChartAndTabulatesTheCurves() throws Exception {
        String md = withCurves.toMarkdown();
        assertThat(md).contains("| split-exactness | passed | fine |").contains("| max | 0.500000 |")
                .contains("| curve | 1 | 2 | 3 |\n|---|---|---|---|\n")
                .contains("| " + ASYNC + " | 0.00 | 0.0100 | 0.0300 |\n")
                .contains("| text-to-image N=2 stride=1 known-bad <x> & 'y' | 0.00 | 0.200 | NaN |\n");
        Matcher image = Pattern.compile("!\\[per-step divergence of closeness]\\(data:image/svg\\+xml;base64,([A-Za-z0-9+/=]+)\\)")
                .matcher(md);
        assertThat(image.find()).as("a data-URI image in %s", md).isTrue();
        String svg = new String(Base64.getDecoder().decode(image.group(1)), StandardCharsets.UTF_8);
        assertThat(parse(svg).getElementsByTagName("polyline").getLength()).isEqualTo(2);
        assertThat(svg).contains(">" + ASYNC + "</text>");
        assertThat(count(md, "![per-step divergence")).isEqualTo(1);
    }

    @Test
    void markdownEscapesPipesInCurveNames() {
        KitReport piped = new KitReport("sd", "/m", List.of(new CheckResult(Check.CLOSENESS, CheckResult.Status.PASSED,
                "ok", Map.of(), Map.of("a|b", List.of(1.0)))));
        assertThat(piped.toMarkdown()).contains("| a\\|b | 1.00 |");
    }

    @Test
    void jsonHasEachChecksCurvesWithNonFiniteValuesAsNull() throws Exception {
        JsonNode checks = new ObjectMapper().readTree(withCurves.toJson()).get("checks");
        assertThat(checks.get(0).get("curves").isObject()).isTrue();
        assertThat(checks.get(0).get("curves")).isEmpty();
        JsonNode curves = checks.get(1).get("curves");
        assertThat(curves.get(ASYNC)).hasSize(3);
        assertThat(curves.get(ASYNC).get(2).asDouble()).isEqualTo(0.03);
        assertThat(curves.get(BAD).get(1).asDouble()).isEqualTo(0.2);
        assertThat(curves.get(BAD).get(2).isNull()).isTrue();
    }

    @Test
    void aChartOfNaNAndZeroCurvesIsValidXml() throws Exception {
        String svg = new DivergenceChart(curves("all zero", List.of(0.0, 0.0, 0.0, 0.0),
                "not a number", List.of(Double.NaN, Double.POSITIVE_INFINITY, Double.NaN, Double.NEGATIVE_INFINITY)))
                .toSvg();
        NodeList lines = parse(svg).getElementsByTagName("polyline");
        assertThat(lines.getLength()).isEqualTo(2);
        // The zero curve lies flat on the x axis; the curve without a finite point draws nothing.
        String[] zero = lines.item(0).getAttributes().getNamedItem("points").getNodeValue().split(" ");
        assertThat(zero).hasSize(4);
        assertThat(zero).extracting(p -> p.split(",")[1]).containsOnly(zero[0].split(",")[1]);
        assertThat(lines.item(1).getAttributes().getNamedItem("points").getNodeValue()).isEmpty();
        assertThat(svg).doesNotContain("NaN").doesNotContain("Infinity");
    }

    @Test
    void aChartScalesToTheLargestValueAndIsDeterministic() throws Exception {
        Map<String, List<Double>> curves = curves("rising", List.of(0.0, 0.5, 1.0), "x<&\u0001", List.of(0.25));
        DivergenceChart chart = new DivergenceChart(curves);
        Document svg = parse(chart.toSvg());
        assertThat(chart.toSvg()).isEqualTo(new DivergenceChart(curves).toSvg()).contains(">1.00</text>")
                .contains(">0.00</text>").contains(">x&lt;&amp;\uFFFD</text>");
        String[] rising = svg.getElementsByTagName("polyline").item(0).getAttributes().getNamedItem("points")
                .getNodeValue().split(" ");
        assertThat(rising).hasSize(3);
        double first = Double.parseDouble(rising[0].split(",")[1]);
        double last = Double.parseDouble(rising[2].split(",")[1]);
        assertThat(last).isLessThan(first);
        assertThat(Integer.parseInt(svg.getDocumentElement().getAttribute("width"))).isEqualTo(640);
        assertThat(chart.toDataUri()).startsWith("data:image/svg+xml;base64,");
        assertThat(new String(Base64.getDecoder().decode(chart.toDataUri().substring(26)), StandardCharsets.UTF_8))
                .isEqualTo(chart.toSvg());
    }

    @Test
    void numericsCompareAndExplain() {
        float[] expected = {1, 2, 3, 4};
        assertThat(Numerics.relativeL2(expected, expected)).isZero();
        assertThat(Numerics.psnr(expected, expected)).isInfinite();
        assertThat(Numerics.psnr(new float[] {0.5f}, new float[] {0.6f})).isCloseTo(20.0, org.assertj.core.data.Offset.offset(1e-4));
        Numerics.assertAllClose(new float[] {1, 2, 3, 4.0001f}, expected, 1e-4, 0);
        assertThatThrownBy(() -> Numerics.assertAllClose(new float[] {1, 2.5f, 3, 4}, expected, 1e-3, 1e-6))
                .hasMessageContaining("element 1 differs").hasMessageContaining("actual 2.5, expected 2.0");
    }

    @Test
    void ssimIsOneForEqualImagesAndFallsWithNoise() {
        long[] shape = {1, 3, 16, 16};
        float[] image = new float[3 * 16 * 16];
        java.util.SplittableRandom random = new java.util.SplittableRandom(3);
        for (int i = 0; i < image.length; i++) {
            image[i] = (float) ((i % 16) / 15.0 * 0.5 + 0.25);
        }
        float[] slightly = image.clone();
        float[] heavily = image.clone();
        for (int i = 0; i < image.length; i++) {
            slightly[i] += (float) (random.nextGaussian() * 0.01);
            heavily[i] += (float) (random.nextGaussian() * 0.2);
        }
        assertThat(Numerics.ssim(image, image, shape)).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-12));
        double mild = Numerics.ssim(slightly, image, shape);
        double strong = Numerics.ssim(heavily, image, shape);
        assertThat(mild).isLessThan(1.0).isGreaterThan(0.9);
        assertThat(strong).isLessThan(mild).isLessThan(0.5);
        assertThatThrownBy(() -> Numerics.ssim(image, image, new long[] {1, 3, 16, 15}))
                .hasMessageContaining("[1, 3, 16, 15]");
    }

    @Test
    void tolerancesCoverEveryConfigurationAndOverride() {
        Tolerances defaults = Tolerances.RANDOM_WEIGHTS;
        assertThat(defaults.seedFraction(2, 1)).isLessThan(defaults.seedFraction(4, 2));
        assertThat(defaults.knownBadMargin(3, 1)).isLessThan(defaults.knownBadMargin(3, 2));
        Tolerances strict = defaults.withSeedFraction(0.1).withSeedFraction(2, 2, 0.2).withKnownBadMargin(0.5)
                .withImageBounds(30, 0.9);
        assertThat(strict.seedFraction(4, 1)).isEqualTo(0.1);
        assertThat(strict.seedFraction(2, 2)).isEqualTo(0.2);
        assertThat(strict.knownBadMargin(4, 2)).isEqualTo(0.5);
        assertThat(strict.minPsnrDb()).isEqualTo(30);
        assertThat(strict.minSsim()).isEqualTo(0.9);
        assertThatThrownBy(() -> defaults.seedFraction(5, 1)).hasMessageContaining("N=5 stride=1");
        assertThatThrownBy(() -> new Tolerances(1e-4, Map.of(Tolerances.key(2, 1), 0.3), defaults.knownBadMargins(),
                0, 0, 0)).hasMessageContaining("seed fraction").hasMessageContaining("N=3 stride=1");
        assertThatThrownBy(() -> defaults.withImageBounds(20, 1.5)).hasMessageContaining("SSIM 1.5");
    }

    @Test
    void aMissingFolderOrUnknownAdapterIsAClearError() {
        assertThatThrownBy(() -> CompatibilityKit.create(new CompatibilityKit.Subject("sd", Path.of("/nonexistent"),
                Tolerances.RANDOM_WEIGHTS, 6, 64, "onnx"))).hasMessageContaining("/nonexistent");
        assertThatThrownBy(() -> CompatibilityKit.create(new CompatibilityKit.Subject("nope",
                Path.of(System.getProperty("java.io.tmpdir")), Tolerances.RANDOM_WEIGHTS, 6, 64, "onnx")))
                .hasMessageContaining("unknown adapter 'nope'").hasMessageContaining("sd");
    }

    private static Map<String, List<Double>> curves(String name1, List<Double> values1, String name2,
                                                    List<Double> values2) {
        Map<String, List<Double>> curves = new LinkedHashMap<>();
        curves.put(name1, values1);
        curves.put(name2, values2);
        return curves;
    }

    private static int count(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + part.length())) {
            n++;
        }
        return n;
    }

    private static Document parse(String xml) throws Exception {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        return factory.newDocumentBuilder().parse(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)));
    }
}
