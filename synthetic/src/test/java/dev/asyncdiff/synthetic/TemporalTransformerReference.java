package dev.asyncdiff.synthetic;

import dev.asyncdiff.onnx.graph.Initializer;
import java.nio.FloatBuffer;
import java.util.List;

/**
 * diffusers' {@code TransformerTemporalModel.forward} (AnimateDiff's motion module, one block, affine norms at their
 * initial 1 and 0) written out loop by loop in double precision over the parameters of a built graph, as an
 * independent check of {@link TemporalTransformer}'s reshapes, norms, positions and attention.
 */
final class TemporalTransformerReference {
    private final List<Initializer> parameters;
    private final String prefix;
    private final int channels;
    private final int heads;
    private final int groups;

    /** The module whose parameters are called {@code prefix + "proj_in.weight"} and so on in {@code parameters}. */
    TemporalTransformerReference(List<Initializer> parameters, String prefix, int channels, int heads, int groups) {
        this.parameters = parameters;
        this.prefix = prefix;
        this.channels = channels;
        this.heads = heads;
        this.groups = groups;
    }

    /** The module's output for {@code hidden} {@code [batch*frames, channels, area]}, flattened the same way. */
    float[] forward(float[] hidden, int batch, int frames, int area) {
        int c = channels;
        int sequences = batch * area;
        double[][][] tokens = new double[sequences][frames][c];
        int perGroup = c / groups;
        for (int b = 0; b < batch; b++) {
            for (int g = 0; g < groups; g++) {
                double sum = 0;
                double squares = 0;
                int n = perGroup * frames * area;
                for (int ch = g * perGroup; ch < (g + 1) * perGroup; ch++) {
                    for (int f = 0; f < frames; f++) {
                        for (int p = 0; p < area; p++) {
                            double v = hidden[((b * frames + f) * c + ch) * area + p];
                            sum += v;
                            squares += v * v;
                        }
                    }
                }
                double mean = sum / n;
                double std = Math.sqrt(squares / n - mean * mean + 1e-6);
                for (int ch = g * perGroup; ch < (g + 1) * perGroup; ch++) {
                    for (int f = 0; f < frames; f++) {
                        for (int p = 0; p < area; p++) {
                            tokens[b * area + p][f][ch] = (hidden[((b * frames + f) * c + ch) * area + p] - mean) / std;
                        }
                    }
                }
            }
        }
        double[][] position = positions(frames, c);
        double[][][] h = new double[sequences][][];
        for (int s = 0; s < sequences; s++) {
            h[s] = linear(tokens[s], "proj_in", c, c, true);
            for (int k = 1; k <= 2; k++) {
                double[][] normed = layerNorm(h[s]);
                for (int f = 0; f < frames; f++) {
                    for (int ch = 0; ch < c; ch++) {
                        normed[f][ch] += position[f][ch];
                    }
                }
                add(h[s], attention(normed, "transformer_blocks.0.attn" + k + "."));
            }
            double[][] projected = linear(layerNorm(h[s]), "transformer_blocks.0.ff.net.0.proj", c, 8 * c, true);
            double[][] gated = new double[frames][4 * c];
            for (int f = 0; f < frames; f++) {
                for (int i = 0; i < 4 * c; i++) {
                    double gate = projected[f][4 * c + i];
                    gated[f][i] = projected[f][i] * 0.5 * gate * (1 + erf(gate / Math.sqrt(2)));
                }
            }
            add(h[s], linear(gated, "transformer_blocks.0.ff.net.2", 4 * c, c, true));
            h[s] = linear(h[s], "proj_out", c, c, true);
        }
        float[] out = new float[hidden.length];
        for (int b = 0; b < batch; b++) {
            for (int f = 0; f < frames; f++) {
                for (int ch = 0; ch < c; ch++) {
                    for (int p = 0; p < area; p++) {
                        int i = ((b * frames + f) * c + ch) * area + p;
                        out[i] = (float) (hidden[i] + h[b * area + p][f][ch]);
                    }
                }
            }
        }
        return out;
    }

    private double[][] attention(double[][] x, String scope) {
        int c = channels;
        int frames = x.length;
        int width = c / heads;
        double[][] q = linear(x, scope + "to_q", c, c, false);
        double[][] k = linear(x, scope + "to_k", c, c, false);
        double[][] v = linear(x, scope + "to_v", c, c, false);
        double[][] context = new double[frames][c];
        for (int head = 0; head < heads; head++) {
            int from = head * width;
            for (int i = 0; i < frames; i++) {
                double[] scores = new double[frames];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < frames; j++) {
                    for (int d = from; d < from + width; d++) {
                        scores[j] += q[i][d] * k[j][d];
                    }
                    scores[j] /= Math.sqrt(width);
                    max = Math.max(max, scores[j]);
                }
                double total = 0;
                for (int j = 0; j < frames; j++) {
                    scores[j] = Math.exp(scores[j] - max);
                    total += scores[j];
                }
                for (int j = 0; j < frames; j++) {
                    for (int d = from; d < from + width; d++) {
                        context[i][d] += scores[j] / total * v[j][d];
                    }
                }
            }
        }
        return linear(context, scope + "to_out.0", c, c, true);
    }

    private double[][] linear(double[][] x, String name, int in, int out, boolean bias) {
        float[] weight = values(name + ".weight");
        float[] b = bias ? values(name + ".bias") : new float[out];
        double[][] y = new double[x.length][out];
        for (int t = 0; t < x.length; t++) {
            for (int o = 0; o < out; o++) {
                double sum = b[o];
                for (int i = 0; i < in; i++) {
                    sum += x[t][i] * weight[i * out + o];
                }
                y[t][o] = sum;
            }
        }
        return y;
    }

    private static double[][] layerNorm(double[][] x) {
        double[][] y = new double[x.length][];
        for (int t = 0; t < x.length; t++) {
            double mean = 0;
            for (double v : x[t]) {
                mean += v;
            }
            mean /= x[t].length;
            double variance = 0;
            for (double v : x[t]) {
                variance += (v - mean) * (v - mean);
            }
            double std = Math.sqrt(variance / x[t].length + 1e-5);
            y[t] = new double[x[t].length];
            for (int i = 0; i < x[t].length; i++) {
                y[t][i] = (x[t][i] - mean) / std;
            }
        }
        return y;
    }

    /** diffusers' {@code SinusoidalPositionalEmbedding.pe}: sin at even, cos at odd indices. */
    private static double[][] positions(int frames, int dim) {
        double[][] pe = new double[frames][dim];
        for (int p = 0; p < frames; p++) {
            for (int i = 0; i < dim; i += 2) {
                double term = Math.exp(i * (-Math.log(10000.0) / dim));
                pe[p][i] = Math.sin(p * term);
                pe[p][i + 1] = Math.cos(p * term);
            }
        }
        return pe;
    }

    private static void add(double[][] into, double[][] x) {
        for (int t = 0; t < into.length; t++) {
            for (int i = 0; i < into[t].length; i++) {
                into[t][i] += x[t][i];
            }
        }
    }

    /** erf to about 1e-12: its Maclaurin series below 2.5, the continued fraction of erfc above. */
    private static double erf(double x) {
        double t = Math.abs(x);
        double result;
        if (t < 2.5) {
            double term = t;
            double sum = t;
            for (int n = 1; n < 60; n++) {
                term *= -t * t / n;
                sum += term / (2 * n + 1);
            }
            result = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            double fraction = 0;
            for (int n = 60; n >= 1; n--) {
                fraction = n / 2.0 / (t + fraction);
            }
            result = 1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + fraction);
        }
        return Math.copySign(result, x);
    }

    private float[] values(String name) {
        Initializer tensor = parameters.stream().filter(i -> i.name().equals(prefix + name)).findFirst()
                .orElseThrow(() -> new AssertionError("no parameter " + prefix + name));
        FloatBuffer floats = tensor.data().get().asFloatBuffer();
        float[] values = new float[floats.remaining()];
        floats.get(values);
        return values;
    }
}
