"""The fixtures: SMALL / FULL configurations, the builders (network + seeded weights -> TF reference outputs ->
frozen GraphDef), their extra references (ToRGB taps, truncation variants, random-noise statistics) and
fixture_specs (name -> description, builder)."""

import collections
import re

import numpy as np
from fixture_io import (GLOBAL_SEED, freeze, input_array, load_weights, maxdiff, node_of, session_config,
                        tensor_ref)
from stylegan_nets import (G_mapping, G_style, G_synthesis, Net, absolute_name_scope, convert_images_to_uint8,
                           dims, tf)


# ----------------------------------------------------------------------------------------------------------
# Fixture builders. Each returns (graph_def, inputs[(name, array)], outputs[(name, array)], extra info).

SMALL = dict(resolution=32, latent_size=64, dlatent_size=64, mapping_fmaps=64, fmap_base=256, fmap_max=64)
FULL = dict(latent_size=512, dlatent_size=512, mapping_fmaps=512, fmap_base=8192, fmap_max=512)


def build_synthesis(cfg, structure, fused_scale, seed):
    """G_synthesis evaluated on a [N, L, D] placeholder (like Network.get_output_for in the official code)."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        kw = dict(cfg, fused_scale=fused_scale)
        if structure != "recursive":          # recursive is what 'auto' gives outside template graphs
            kw["structure"] = structure
        net = Net("G_synthesis", G_synthesis, **kw)
        num_layers, dlat = net.input_shape[1], net.input_shape[2]
        dlatents = tf.placeholder(tf.float32, [None, num_layers, dlat], name="dlatents_in")
        images = net.get_output_for(dlatents, absolute=True, randomize_noise=False)
        sess = tf.Session(graph=graph, config=session_config())
        sess.run(tf.global_variables_initializer())
        vals = load_weights(sess, net, seed)
        x = input_array("dlatents", [1, num_layers, dlat], seed)
        ref = sess.run(images, {dlatents: x})
        gd = freeze(sess, graph, [node_of(images)])
        sess.close()
    return gd, [(node_of(dlatents), x)], [(tensor_ref(images), ref)], vals


def build_mapping(cfg, seed):
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        num_layers = int(np.log2(cfg["resolution"])) * 2 - 2
        net = Net("G_mapping", G_mapping, dlatent_broadcast=num_layers, **cfg)
        latents = tf.placeholder(tf.float32, [None, cfg["latent_size"]], name="latents_in")
        labels = tf.placeholder(tf.float32, [None, 0], name="labels_in")
        dlatents = net.get_output_for(latents, labels, absolute=True)
        sess = tf.Session(graph=graph, config=session_config())
        sess.run(tf.global_variables_initializer())
        vals = load_weights(sess, net, seed)
        z = input_array("latents", [1, cfg["latent_size"]], seed)
        ref = sess.run(dlatents, {latents: z})
        gd = freeze(sess, graph, [node_of(dlatents)])
        sess.close()
    return gd, [(node_of(latents), z)], [(tensor_ref(dlatents), ref)], vals


def build_generator(cfg, seed, uint8=False, psi=0.7, randomize_noise=False):
    """Gs (G_style): mapping -> truncation -> synthesis (recursive) with the Assign(lod) control dependency.

    uint8=True reproduces the graph of Gs.run(latents, None, randomize_noise=False, truncation_psi=0.7,
    output_transform=dict(func=convert_images_to_uint8, nchw_to_nhwc=True)) with num_gpus=1: placeholders
    and Split on /cpu:0, the network and the transform on /gpu:0, the (single-input) concat on /cpu:0.
    randomize_noise=True draws every layer's noise with RandomStandardNormal (seeded by the graph seed) instead
    of reading the noise variables; see random_noise_extras for the extra references of that fixture.
    """
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        net = Net("Gs", G_style, **cfg)
        run_kwargs = dict(randomize_noise=randomize_noise, truncation_psi=psi, truncation_cutoff=8)
        if not uint8:
            latents = tf.placeholder(tf.float32, [None, cfg["latent_size"]], name="latents_in")
            labels = tf.placeholder(tf.float32, [None, 0], name="labels_in")
            out = net.get_output_for(latents, labels, absolute=True, **run_kwargs)
        else:
            with absolute_name_scope("Gs/_Run"), tf.control_dependencies(None):
                with tf.device("/cpu:0"):
                    latents = tf.placeholder(tf.float32, name="latents_in")
                    labels = tf.placeholder(tf.float32, name="labels_in")
                    in_split = list(zip(*[tf.split(t, 1) for t in (latents, labels)]))
                with tf.device("/gpu:0"):
                    imgs = net.get_output_for(*in_split[0], **run_kwargs)
                    imgs = convert_images_to_uint8(imgs, nchw_to_nhwc=True)
                with tf.device("/cpu:0"):
                    out = tf.concat([imgs], axis=0)
        sess = tf.Session(graph=graph, config=session_config())
        sess.run(tf.global_variables_initializer())
        vals = load_weights(sess, net, seed)
        z = input_array("latents", [1, cfg["latent_size"]], seed)
        ref = sess.run(out, {latents: z})
        gd = freeze(sess, graph, [node_of(out)])
        extras = random_noise_extras(sess, graph, gd, out, {latents: z}) if randomize_noise else None
        sess.close()
    if extras is not None:
        return gd, [(node_of(latents), z)], [(tensor_ref(out), ref)], vals, extras
    return gd, [(node_of(latents), z)], [(tensor_ref(out), ref)], vals


def build_conditional(cfg, seed):
    """Gs (G_style) of a conditional network: latents [N, Z] and labels [N, label_size] in (the labels are
    embedded and joined to the latents in the mapping network), the image out."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        net = Net("Gs", G_style, **cfg)
        latents = tf.placeholder(tf.float32, [None, cfg["latent_size"]], name="latents_in")
        labels = tf.placeholder(tf.float32, [None, cfg["label_size"]], name="labels_in")
        out = net.get_output_for(latents, labels, absolute=True, randomize_noise=False)
        sess = tf.Session(graph=graph, config=session_config())
        sess.run(tf.global_variables_initializer())
        vals = load_weights(sess, net, seed)
        z = input_array("latents", [1, cfg["latent_size"]], seed)
        y = input_array("labels", [1, cfg["label_size"]], seed)
        ref = sess.run(out, {latents: z, labels: y})
        gd = freeze(sess, graph, [node_of(out)])
        sess.close()
    return gd, [(node_of(latents), z), (node_of(labels), y)], [(tensor_ref(out), ref)], vals


# The architecture kwargs the 32 px fixtures leave at their defaults, each set otherwise once: a conditional
# generator with ReLU everywhere, pixel norm instead of instance norm and a dense input layer; a synthesis
# network without styles (one dlatent row, read by that dense input layer only).
CONDITIONAL = dict(SMALL, resolution=16, label_size=3, mapping_nonlinearity="relu", nonlinearity="relu",
                   use_pixel_norm=True, use_instance_norm=False, const_input_layer=False)
NO_STYLES = dict(SMALL, resolution=16, use_styles=False, const_input_layer=False)


NOISE_DRAWS = 64


def random_noise_extras(sess, graph, graph_def, out, feed):
    """References of the randomize_noise=True generator, whose output is random (each run draws new noise).

    - "references": TF's dlatents (synthesis input after truncation), which no noise reaches: an exact
      reference for `sgc lower --outputs Gs/G_synthesis/dlatents_in`.
    - "random_ops": the RandomStandardNormal nodes with their seeds and output shapes.
    - "noise_statistics": the per-image mean and std of the output over NOISE_DRAWS runs of the same session
      (a seeded stateful op draws the next values of its stream on every run), i.e. how much these statistics
      move when only the noise changes, for a statistical comparison with another runtime's random stream;
      and the same statistics with the noise strengths set to zero and to 3x theirs, to show what they detect.
    """
    frozen = {n.name for n in graph_def.node}
    rand = [op for op in graph.get_operations() if op.type == "RandomStandardNormal" and op.name in frozen]
    dlatents = graph.get_tensor_by_name("Gs/G_synthesis/dlatents_in:0")

    def stats(img):   # per channel of the one image: spatial mean and std
        return (np.mean(img[0], axis=(1, 2), dtype=np.float64).tolist(),
                np.std(img[0], axis=(1, 2), dtype=np.float64).tolist())
    draws = [stats(sess.run(out, feed)) for _ in range(NOISE_DRAWS)]
    # Zero / triple noise: scale the per-channel noise strengths (the noise ops sit inside tf.cond branches,
    # where TF cannot feed them). The graph is frozen already; this only changes the live session.
    strengths = [v for v in tf.global_variables() if v.name.endswith("Noise/weight:0")]
    saved = sess.run(strengths)
    scaled = {}
    for k in (0, 3):
        for v, val in zip(strengths, saved):
            v.load(val * k, sess)
        scaled[k] = stats(sess.run(out, feed))
    zero, triple = scaled[0], scaled[3]
    return {
        "references": [{"what": "dlatents (synthesis input, after truncation psi 0.7 cutoff 8); deterministic",
                        "tensor": "Gs/G_synthesis/dlatents_in", "file": "dlatents.npy",
                        "value": sess.run(dlatents, feed)}],
        "random_ops": [{"name": op.name, "seed": op.get_attr("seed"), "seed2": op.get_attr("seed2"),
                        "shape": dims(op.outputs[0].shape)} for op in rand],
        "noise_statistics": [{"what": "per-channel spatial mean and std of the output image ([draw][channel]) "
                              "over %d TF runs with fresh noise; *_zero_noise / *_triple_noise: one run with every "
                              "Noise/weight set to 0 / to 3x its value" % NOISE_DRAWS, "draws": NOISE_DRAWS,
                              "mean": [m for m, _ in draws], "std": [s for _, s in draws],
                              "mean_zero_noise": zero[0], "std_zero_noise": zero[1],
                              "mean_triple_noise": triple[0], "std_triple_noise": triple[1]}],
    }


TAP_RE = re.compile(r"ToRGB_lod(\d+)/add$")


def linear_taps(kind, cfg, seed, feed):
    """TF's value of every ToRGB tap (the 1x1 conv to RGB + bias after each resolution block) at lod 0.

    Computed on the *linear* structure, where every ToRGB is live at lod 0 (`ToRGB_lod2/add` there equals
    `Grow_lod2/LerpClip/add`); weights are seeded by variable name, so they are the recursive graph's. These are
    the references for resolution pruning (sgc lower --resolution R). For the generator (G_style, psi 0.7,
    cutoff 8) also returns the dlatents the synthesis network receives (after truncation) and checks the
    image against the fixture's. Returns (taps {resolution: array}, image, dlatents or None).
    """
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        if kind == "synthesis":
            net = Net("G_synthesis", G_synthesis, structure="linear", **cfg)
            inp = tf.placeholder(tf.float32, [None] + net.input_shape[1:], name="dlatents_in")
            out = net.get_output_for(inp, absolute=True, randomize_noise=False)
        else:
            net = Net("Gs", G_style, structure="linear", **cfg)
            inp = tf.placeholder(tf.float32, [None, cfg["latent_size"]], name="latents_in")
            labels = tf.placeholder(tf.float32, [None, 0], name="labels_in")
            out = net.get_output_for(inp, labels, absolute=True, randomize_noise=False, truncation_psi=0.7,
                                     truncation_cutoff=8)
        taps = {}
        for op in graph.get_operations():
            m = TAP_RE.search(op.name)
            if m and not op.name.startswith("Template/") and int(m.group(1)) > 0:
                taps[cfg["resolution"] >> int(m.group(1))] = op.outputs[0]
        fetch = {"taps": taps, "image": out}
        if kind == "generator":
            fetch["dlatents"] = graph.get_tensor_by_name("Gs/G_synthesis/dlatents_in:0")
        sess = tf.Session(graph=graph, config=session_config())
        sess.run(tf.global_variables_initializer())
        load_weights(sess, net, seed)
        got = sess.run(fetch, {inp: feed})
        sess.close()
    return got["taps"], got["image"], got.get("dlatents")


def with_extras(result, kind, cfg, seed, variants=False):
    """Adds the extra references of a fixture: "taps" (ToRGB taps at each lower resolution, lod 0) and, with
    variants=True (generator), "references": the truncated dlatents and the image at psi 0.5 and psi 1."""
    gd, ins, outs, vals = result
    taps, image, dlatents = linear_taps(kind, cfg, seed, ins[0][1])
    d = maxdiff(image, outs[0][1])
    print("    linear-structure image vs reference: max|d|=%g" % d)
    assert d < 1e-4 * max(1.0, float(np.abs(outs[0][1]).max())), "linear taps do not match the fixture"
    extras = {"taps": [{"resolution": r, "file": "tap_%d.npy" % r, "value": taps[r]} for r in sorted(taps)]}
    if variants:
        refs = [{"what": "dlatents (synthesis input, after truncation psi 0.7 cutoff 8)",
                 "file": "dlatents.npy", "value": dlatents}]
        for psi in (0.5, 1.0):
            img = build_generator(cfg, seed, psi=psi)[2][0][1]
            refs.append({"what": "image at truncation psi %g (cutoff 8)" % psi, "psi": psi,
                         "file": "image_psi_%g.npy" % psi, "value": img})
        extras["references"] = refs
    return gd, ins, outs, vals, extras


def small_description():
    return "32 px, latent/dlatent 64, fmap_base 256, fmap_max 64, random seeded weights, lod 0"


def fixture_specs(full, random_noise=False):
    """name -> (description, builder)."""
    seed = GLOBAL_SEED
    specs = collections.OrderedDict()
    if random_noise:
        specs["generator_random_noise_32"] = (
            "Gs (G_style) as in generator_full_32 (same weights) but built with randomize_noise=True: every "
            "layer's noise is Shape -> StridedSlice -> Pack [N,1,H,W] -> RandomStandardNormal (seed/seed2 set "
            "from the graph seed) -> Mul -> AddV2 instead of the noise variables. OUTPUTS ARE RANDOM: output_0 "
            "is one TF draw, for shape and rough range only; another runtime (or another TF run) draws other "
            "noise. Deterministic reference: dlatents.npy (no noise reaches it); noise_statistics: per-image "
            "mean/std of the output over many TF draws. " + small_description(),
            lambda: build_generator(SMALL, seed, randomize_noise=True))
        return specs
    if not full:
        c = SMALL
        small = small_description()
        specs["synthesis_recursive_32"] = (
            "G_synthesis, recursive structure (nested tf.cond on lod => Switch/Merge), randomize_noise=False, "
            + small + ". Input dlatents [N,8,64], output NCHW image [N,3,32,32].",
            lambda: with_extras(build_synthesis(c, "recursive", "auto", seed), "synthesis", c, seed))
        specs["synthesis_linear_32"] = (
            "G_synthesis, linear structure (lerp_clip on lod, all ToRGB_lod*), " + small
            + ". Same weights as synthesis_recursive_32, so the same output.",
            lambda: with_extras(build_synthesis(c, "linear", "auto", seed), "synthesis", c, seed))
        specs["synthesis_fixed_32"] = (
            "G_synthesis, fixed structure (no growth logic), " + small
            + ". Same weights as synthesis_recursive_32, so the same output.",
            lambda: build_synthesis(c, "fixed", "auto", seed))
        specs["synthesis_fused_32"] = (
            "G_synthesis, recursive structure with fused upscale forced on for every block "
            "(Conv2DBackpropInput, weights Transpose/Pad/4xStridedSlice/AddN), " + small
            + ". Same weights as synthesis_recursive_32, but NOT the same output: like the official code, the fused"
            " op equals upscale + 3x3 conv with a spatially flipped kernel.",
            lambda: build_synthesis(c, "recursive", True, seed))
        specs["mapping"] = (
            "G_mapping: pixel norm + 8 dense layers (lrmul 0.01, leaky relu 0.2) + broadcast to [N,8,64]. "
            "Latents [N,64] -> dlatents [N,8,64]. Same weights as the mapping inside generator_full_32.",
            lambda: build_mapping(c, seed))
        specs["generator_full_32"] = (
            "Gs (G_style): mapping -> truncation (psi 0.7, cutoff 8) -> G_synthesis (recursive) under a "
            "control dependency on Assign(G_synthesis/lod <- Gs/lod). After freezing the Assign has a Const "
            "ref input, so TF cannot re-import this graph. " + small + ". Output NCHW float image.",
            lambda: with_extras(build_generator(c, seed), "generator", c, seed, variants=True))
        specs["generator_conditional_16"] = (
            "Gs (G_style) of a conditional network, 16 px, otherwise as generator_full_32 but: label_size 3 "
            "(LabelConcat: labels [N,3] @ weight [3,64] joined to the latents), mapping_nonlinearity and "
            "nonlinearity 'relu', use_pixel_norm, no instance norm, const_input_layer False (4x4/Dense from "
            "dlatent row 0). Inputs latents [N,64], labels [N,3]; output NCHW image [N,3,16,16].",
            lambda: build_conditional(CONDITIONAL, seed))
        specs["synthesis_nostyles_16"] = (
            "G_synthesis with use_styles False (dlatents [N,1,64], no StyleMod) and const_input_layer False, "
            "16 px, otherwise as synthesis_recursive_32. Output NCHW image [N,3,16,16].",
            lambda: build_synthesis(NO_STYLES, "recursive", "auto", seed))
        specs["generator_uint8_32"] = (
            "Graph built by Gs.run(latents, None, randomize_noise=False, truncation_psi=0.7, "
            "output_transform=dict(func=convert_images_to_uint8, nchw_to_nhwc=True)): Split(num_split 1) on "
            "the input, Gs as in generator_full_32, then Transpose [0,2,3,1] -> *127.5 -> +128 -> ClipByValue "
            "0..255 -> Cast uint8; nodes carry /device:GPU:0 and /device:CPU:0. Output NHWC uint8.",
            lambda: build_generator(c, seed, uint8=True))
    else:
        for r in (256, 1024):
            c = dict(FULL, resolution=r)
            specs["synthesis_%d" % r] = (
                "Full-size G_synthesis %d px (fmap_base 8192, fmap_max 512, dlatent 512), recursive structure, "
                "fused upscale auto (>=128 px), random seeded weights, lod 0." % r,
                (lambda c=c: with_extras(build_synthesis(c, "recursive", "auto", seed), "synthesis", c, seed)))
            specs["generator_full_%d" % r] = (
                "Full-size Gs (G_style) %d px: mapping -> truncation (psi 0.7, cutoff 8) -> recursive "
                "G_synthesis with the Assign(lod) control dependency, random seeded weights." % r,
                (lambda c=c: with_extras(build_generator(c, seed), "generator", c, seed)))
    return specs
